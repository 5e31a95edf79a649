/*
 * host_checks.c — questions `agentctl doctor` asks about the host, answered in C because
 * liburing and libcap stay inside CProbe (see cprobe.h).
 *
 * cprobe_probe_io_uring() exercises io_uring the way the engine does, on a throwaway ring:
 *   1. io_uring_setup            (fails: disabled by sysctl, blocked by seccomp, no io_uring)
 *   2. register a buffer ring    (Linux 5.19+)
 *   3. one multishot recvmsg with buffer selection on a socketpair, which must deliver a
 *      datagram written to the other end (Linux 6.0+)
 * The first step that fails names itself in errbuf; nothing is left open afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define CHECK_BUFS 4 /* power of two */
#define CHECK_BUF_SIZE 256
#define CHECK_BGID 1

static int say(char *errbuf, size_t errlen, int rc, const char *what, const char *why)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s: %s%s%s", what, strerror(-rc), why ? " — " : "", why ? why : "");
    return rc;
}

/* Step 3: a multishot recvmsg must complete with a selected buffer holding our datagram. */
static int check_multishot_recvmsg(struct io_uring *ring, char *errbuf, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
        return say(errbuf, errlen, -errno, "socketpair", NULL);
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_recvmsg_multishot(sqe, sv[0], &msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = CHECK_BGID;
    int rc = io_uring_submit(ring);
    if (rc >= 0 && write(sv[1], "doctor", 6) != 6)
        rc = -errno;
    struct io_uring_cqe *cqe = NULL;
    if (rc >= 0) {
        struct __kernel_timespec ts = { .tv_sec = 1 };
        rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    }
    if (rc < 0) {
        rc = say(errbuf, errlen, rc, "multishot recvmsg", rc == -ETIME ? "no completion within 1 s" : NULL);
    } else if (cqe->res < 0) {
        rc = say(errbuf, errlen, cqe->res, "multishot recvmsg",
                 cqe->res == -EINVAL ? "the kernel is older than 6.0" : NULL);
    } else if (!(cqe->flags & IORING_CQE_F_BUFFER)) {
        rc = say(errbuf, errlen, -EPROTO, "multishot recvmsg", "completed without a selected buffer");
    } else {
        rc = 0;
    }
    close(sv[0]); /* ends the multishot request; the ring's teardown reaps it */
    close(sv[1]);
    return rc;
}

int cprobe_probe_io_uring(char *errbuf, size_t errlen)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(8, &ring, 0);
    if (rc < 0)
        return say(errbuf, errlen, rc, "io_uring_setup",
                   rc == -EPERM ? "io_uring is disabled (kernel.io_uring_disabled) or blocked by seccomp"
                   : rc == -ENOSYS ? "this kernel has no io_uring" : NULL);
    size_t ring_size = CHECK_BUFS * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    static char bufs[CHECK_BUFS][CHECK_BUF_SIZE];
    if (mem == MAP_FAILED) {
        rc = say(errbuf, errlen, -errno, "mmap", NULL);
    } else {
        struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem,
                                        .ring_entries = CHECK_BUFS, .bgid = CHECK_BGID };
        rc = io_uring_register_buf_ring(&ring, &reg, 0);
        if (rc < 0) {
            say(errbuf, errlen, rc, "registering a buffer ring",
                rc == -EINVAL ? "the kernel is older than 5.19" : NULL);
        } else {
            struct io_uring_buf_ring *br = mem;
            io_uring_buf_ring_init(br);
            for (int i = 0; i < CHECK_BUFS; i++)
                io_uring_buf_ring_add(br, bufs[i], CHECK_BUF_SIZE, (unsigned short)i,
                                      io_uring_buf_ring_mask(CHECK_BUFS), i);
            io_uring_buf_ring_advance(br, CHECK_BUFS);
            rc = check_multishot_recvmsg(&ring, errbuf, errlen);
        }
    }
    io_uring_queue_exit(&ring);
    if (mem != MAP_FAILED)
        munmap(mem, ring_size);
    return rc;
}

int cprobe_file_has_cap_net_raw(const char *path)
{
    cap_t caps = cap_get_file(path);
    if (!caps)
        return errno == ENODATA ? 0 : -errno; /* ENODATA: the file has no capabilities */
    cap_flag_value_t v = CAP_CLEAR;
    cap_get_flag(caps, CAP_NET_RAW, CAP_PERMITTED, &v);
    cap_free(caps);
    return v == CAP_SET;
}

int cprobe_cap_net_raw_in_bounding_set(void)
{
    return prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 1;
}

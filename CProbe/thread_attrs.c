/*
 * thread_attrs.c — the calling thread's kernel-visible name and scheduling slice, set from C
 * because prctl(2) and syscall(2) are variadic (Swift cannot call them) and sched_setattr(2)
 * has no glibc wrapper.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cprobe.h"

int cprobe_name_thread(const char *name)
{
    return prctl(PR_SET_NAME, name, 0, 0, 0) == 0 ? 0 : -errno;
}

struct slice_attr { /* struct sched_attr, SCHED_ATTR_SIZE_VER0 */
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};
_Static_assert(sizeof(struct slice_attr) == 48, "SCHED_ATTR_SIZE_VER0");

/* For a SCHED_OTHER thread, sched_attr.sched_runtime is the slice it requests (EEVDF, Linux
 * 6.12+; clamped to 0.1..100 ms; older kernels ignore it). The nice value is passed as it is:
 * lowering it would need CAP_SYS_NICE, keeping it needs nothing. */
int cprobe_set_thread_slice(uint64_t nanoseconds)
{
    struct slice_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.policy = 0; /* SCHED_OTHER */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0); /* on Linux: this thread's */
    if (nice == -1 && errno)
        return -errno;
    a.nice = nice;
    a.runtime = nanoseconds;
    return syscall(SYS_sched_setattr, 0, &a, 0) == 0 ? 0 : -errno;
}

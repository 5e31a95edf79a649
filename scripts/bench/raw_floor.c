/*
 * raw_floor — the cheapest ICMP prober we know how to write: the floor ProbeAgent is
 * measured against in scripts/bench-scale.sh.
 *
 * Usage: raw_floor [--stamps] TARGETS_FILE SECONDS [CADENCE_MS [SLICE_MS]]
 *   TARGETS_FILE: one IPv4 address per line; every one must be in 127.0.0.0/8 (refused
 *   otherwise: this program only ever probes loopback). Runs SECONDS (or until SIGTERM /
 *   SIGINT), waits up to 1 s for the last replies, prints one JSON line and exits.
 *
 * Algorithm: ONE raw ICMP socket. Target i of round r is due at start + r*cadence +
 * i*cadence/N, so the N targets are spread evenly over the cadence (3 s by default). Every
 * slice (10 ms) the due range is sent with sendmmsg in batches of BATCH, and after each batch
 * the socket is drained with recvmmsg(MSG_DONTWAIT); between slices we sleep in ppoll on the
 * socket, draining whatever arrives. ICMP_FILTER passes echo replies only (on loopback the raw
 * socket would otherwise also see our own requests).
 *
 * Wire identity: identifier = our PID, sequence = round (low 16 bits), payload = magic |
 * target index | round | 0 | send time (24 bytes, the size ProbeAgent sends). A reply counts
 * when the identifier, sequence, magic and index match, its source is that target's address, and
 * it is the first reply for that (target, round); anything else counts as foreign or duplicate.
 * No RTT, no timestamps, no per-probe deadline: only the send/receive cost.
 *
 * --stamps: the same, plus the kernel timestamps ProbeAgent takes (SO_TIMESTAMPING software
 * RX and TX, the TX stamp looped back with the packet on the error queue). After each batch the
 * error queue is read with recvmmsg(MSG_ERRQUEUE), and replies are read with room for their RX
 * stamp; stamps are counted, not used. The floor for a prober that times with kernel stamps.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/net_tstamp.h>

#define BATCH 256
#define DRAIN_ROUNDS 64
#define PAYLOAD_LEN 24
#define ECHO_LEN (8 + PAYLOAD_LEN)
#define MAGIC 0x464c5231u /* "FLR1" */
#define RECV_LEN 256
#define MAX_TARGETS (1u << 22)

struct counters {
    uint64_t sent, send_errors, replies, duplicates, foreign, batches, tx_stamps, rx_stamps;
};

static int stamps; /* --stamps */
#define CTRL_LEN 128

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }

/* Reads the targets file; refuses anything outside 127.0.0.0/8. Returns N, or 0 on error. */
static size_t read_targets(const char *path, struct sockaddr_in **out)
{
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 0; }
    size_t n = 0, cap = 1024;
    struct sockaddr_in *t = malloc(cap * sizeof *t);
    char line[64];
    while (t && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        struct in_addr a;
        if (inet_pton(AF_INET, line, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
            fprintf(stderr, "raw_floor: refusing target '%s': only 127.0.0.0/8\n", line);
            free(t);
            t = NULL;
            break;
        }
        if (n == cap) {
            if (cap >= MAX_TARGETS) { fprintf(stderr, "raw_floor: too many targets\n"); free(t); t = NULL; break; }
            struct sockaddr_in *grown = realloc(t, 2 * cap * sizeof *t);
            if (!grown) { free(t); t = NULL; break; }
            t = grown;
            cap *= 2;
        }
        t[n++] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = a };
    }
    fclose(f);
    if (!t) return 0;
    *out = t;
    return n;
}

static int open_socket(void)
{
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) {
        perror("raw_floor: socket(SOCK_RAW, IPPROTO_ICMP) (needs root or CAP_NET_RAW)");
        return -1;
    }
    struct icmp_filter filt = { .data = ~(1u << ICMP_ECHOREPLY) };
    if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt) < 0)
        perror("raw_floor: ICMP_FILTER");
    if (stamps) {
        int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
        if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD, &flags, sizeof flags) < 0) {
            perror("raw_floor: SO_TIMESTAMPING");
            close(fd);
            return -1;
        }
    }
    /* A 10 ms slice at 200k targets is ~700 replies; the default buffer holds far fewer. */
    int rcv = 16 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    return fd;
}

/* One recvmmsg call's worth of messages: data, sender address and control space for each.
 * One instance serves both queues (replies and the error queue), read one after the other. */
static struct {
    uint8_t bufs[BATCH][RECV_LEN];
    uint8_t ctrl[BATCH][CTRL_LEN];
    struct sockaddr_in from[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
} rx;

/* Reads up to BATCH messages without blocking (flags: 0 or MSG_ERRQUEUE), with room for control
 * messages when `with_ctrl`. Returns recvmmsg's result: <= 0 when nothing (more) is queued. */
static int recv_batch(int fd, int flags, int with_ctrl)
{
    int errq = flags & MSG_ERRQUEUE; /* no sender for a looped-back stamp, as in ProbeAgent */
    for (int i = 0; i < BATCH; i++) {
        rx.iov[i] = (struct iovec){ rx.bufs[i], RECV_LEN };
        rx.msgs[i].msg_hdr = (struct msghdr){ .msg_name = errq ? NULL : &rx.from[i],
                                              .msg_namelen = errq ? 0 : sizeof rx.from[i],
                                              .msg_iov = &rx.iov[i], .msg_iovlen = 1,
                                              .msg_control = with_ctrl ? rx.ctrl[i] : NULL,
                                              .msg_controllen = with_ctrl ? CTRL_LEN : 0 };
    }
    return recvmmsg(fd, rx.msgs, BATCH, flags | MSG_DONTWAIT, NULL);
}

/* Reads the replies queued on the socket, without blocking: at most DRAIN_ROUNDS batches per
 * call, so a flood cannot keep us here; the main loop comes back within a slice. */
static void drain(int fd, uint16_t ident, const struct sockaddr_in *targets, size_t n,
                  uint32_t *last_round, struct counters *c)
{
    for (int rounds = 0; rounds < DRAIN_ROUNDS; rounds++) {
        int got = recv_batch(fd, 0, stamps);
        if (got <= 0)
            return; /* EAGAIN: empty; other errors: nothing more to read now either */
        for (int i = 0; i < got; i++) {
            if (stamps && CMSG_FIRSTHDR(&rx.msgs[i].msg_hdr))
                c->rx_stamps++;
            const uint8_t *p = rx.bufs[i];
            size_t len = rx.msgs[i].msg_len, ihl = (size_t)(p[0] & 0x0f) * 4;
            const uint8_t *icmp = p + ihl;
            if (len < ihl + ECHO_LEN || icmp[0] != ICMP_ECHOREPLY ||
                (uint16_t)(icmp[4] << 8 | icmp[5]) != ident || get32(icmp + 8) != MAGIC) {
                c->foreign++;
                continue;
            }
            uint32_t index = get32(icmp + 12), round = get32(icmp + 16);
            uint16_t seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
            if (index >= n || seq != (round & 0xffff) ||
                rx.from[i].sin_addr.s_addr != targets[index].sin_addr.s_addr) {
                c->foreign++;
            } else if (last_round[index] == round) {
                c->duplicates++;
            } else {
                last_round[index] = round;
                c->replies++;
            }
        }
    }
}

/* --stamps: reads the TX stamps the last batch looped back onto the error queue. */
static void drain_errqueue(int fd, struct counters *c)
{
    for (int rounds = 0; rounds < DRAIN_ROUNDS; rounds++) {
        int got = recv_batch(fd, MSG_ERRQUEUE, 1);
        if (got <= 0)
            return;
        c->tx_stamps += (uint64_t)got;
        if (got < BATCH)
            return;
    }
}

/* The socket is readable (ppoll): TX stamps first (POLLERR stays up until they are read), then
 * replies. */
static void drain_ready(int fd, short revents, uint16_t ident, const struct sockaddr_in *targets,
                        size_t n, uint32_t *last_round, struct counters *c)
{
    if (revents & POLLERR)
        drain_errqueue(fd, c);
    drain(fd, ident, targets, n, last_round, c);
}

/* Sends probes number first .. first+count-1 (probe k = target k % n, round k / n), or fewer
 * when asked to stop or past `end` (a starved process can owe a long backlog). Returns how
 * many were handed to the kernel or counted as send errors. */
static uint64_t send_range(int fd, uint16_t ident, const struct sockaddr_in *targets, size_t n,
                           uint64_t first, uint64_t count, uint64_t end, uint32_t *last_round, struct counters *c)
{
    static uint8_t pkts[BATCH][ECHO_LEN];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    uint64_t handled = 0;
    while (count > 0 && !stop_requested && now_ns() < end) {
        unsigned vlen = count < BATCH ? (unsigned)count : BATCH;
        uint64_t t = now_ns();
        for (unsigned i = 0; i < vlen; i++) {
            uint64_t k = first + i;
            uint32_t index = (uint32_t)(k % n), round = (uint32_t)(k / n);
            uint8_t *p = pkts[i];
            memset(p, 0, ECHO_LEN);
            p[0] = ICMP_ECHO;
            p[4] = ident >> 8; p[5] = ident & 0xff;
            p[6] = (round >> 8) & 0xff; p[7] = round & 0xff;
            put32(p + 8, MAGIC); put32(p + 12, index); put32(p + 16, round);
            put32(p + 24, (uint32_t)(t >> 32)); put32(p + 28, (uint32_t)t);
            uint16_t sum = checksum(p, ECHO_LEN);
            p[2] = sum >> 8; p[3] = sum & 0xff;
            iov[i] = (struct iovec){ p, ECHO_LEN };
            msgs[i].msg_hdr = (struct msghdr){ .msg_name = (void *)&targets[index],
                                               .msg_namelen = sizeof targets[index],
                                               .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int done = sendmmsg(fd, msgs, vlen, 0);
        c->batches++;
        if (done < 0) {
            c->send_errors += vlen; /* counted, not retried: a floor does not resend */
            done = (int)vlen;
        } else {
            c->sent += (uint64_t)done;
            if ((unsigned)done < vlen) { c->send_errors += vlen - (unsigned)done; done = (int)vlen; }
        }
        first += (uint64_t)done;
        count -= (uint64_t)done;
        handled += (uint64_t)done;
        if (stamps)
            drain_errqueue(fd, c);
        drain(fd, ident, targets, n, last_round, c);
    }
    return handled;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--stamps") == 0) {
        stamps = 1;
        argv++;
        argc--;
    }
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: raw_floor [--stamps] TARGETS_FILE SECONDS [CADENCE_MS [SLICE_MS]]\n");
        return 2;
    }
    double seconds = atof(argv[2]);
    uint64_t cadence = (uint64_t)(argc > 3 ? atof(argv[3]) : 3000) * 1000000u;
    uint64_t slice = (uint64_t)(argc > 4 ? atof(argv[4]) : 10) * 1000000u;
    if (seconds <= 0 || seconds > 3600 || cadence == 0 || slice == 0) {
        fprintf(stderr, "raw_floor: SECONDS must be in (0, 3600], CADENCE_MS and SLICE_MS > 0\n");
        return 2;
    }
    struct sockaddr_in *targets = NULL;
    size_t n = read_targets(argv[1], &targets);
    if (n == 0)
        return 1;
    uint32_t *last_round = malloc(n * sizeof *last_round);
    if (!last_round)
        return 1;
    memset(last_round, 0xff, n * sizeof *last_round);
    int fd = open_socket();
    if (fd < 0)
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    uint16_t ident = (uint16_t)getpid();
    struct counters c = { 0 };
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), queued = 0, max_late = 0;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    for (uint64_t wake = start; !stop_requested;) {
        uint64_t now = now_ns();
        if (now >= end)
            break;
        if (now > wake && now - wake > max_late)
            max_late = now - wake;
        /* Probes due by now: (now - start) / cadence * n, on the exact grid. */
        uint64_t elapsed = now - start, due = elapsed / cadence * n + (elapsed % cadence) * n / cadence;
        if (due > queued)
            queued += send_range(fd, ident, targets, n, queued, due - queued, end, last_round, &c);
        /* Sleep until the next slice boundary, reading replies as they come. */
        wake = start + ((now_ns() - start) / slice + 1) * slice;
        for (uint64_t t = now_ns(); t < wake && !stop_requested; t = now_ns()) {
            struct timespec ts = { .tv_sec = (time_t)((wake - t) / 1000000000u),
                                   .tv_nsec = (long)((wake - t) % 1000000000u) };
            if (ppoll(&pfd, 1, &ts, NULL) > 0)
                drain_ready(fd, pfd.revents, ident, targets, n, last_round, &c);
        }
    }
    double send_s = (double)(now_ns() - start) / 1e9;
    /* Last replies: at most 1 s. */
    for (uint64_t t = now_ns(), stop = t + 1000000000u; t < stop && c.replies < c.sent; t = now_ns()) {
        struct timespec ts = { 0, 10000000 };
        if (ppoll(&pfd, 1, &ts, NULL) > 0)
            drain_ready(fd, pfd.revents, ident, targets, n, last_round, &c);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    printf("{\"targets\": %zu, \"sent\": %llu, \"replies\": %llu, \"send_errors\": %llu, "
           "\"duplicates\": %llu, \"foreign\": %llu, \"batches\": %llu, \"send_s\": %.3f, \"wall_s\": %.3f, "
           "\"cpu_s\": %.3f, \"max_slice_late_ms\": %.3f, \"stamps\": %d, \"tx_stamps\": %llu, "
           "\"rx_stamps\": %llu}\n",
           n, (unsigned long long)c.sent, (unsigned long long)c.replies, (unsigned long long)c.send_errors,
           (unsigned long long)c.duplicates, (unsigned long long)c.foreign, (unsigned long long)c.batches,
           send_s, (double)(now_ns() - start) / 1e9, cpu, (double)max_late / 1e6, stamps,
           (unsigned long long)c.tx_stamps, (unsigned long long)c.rx_stamps);
    close(fd);
    free(last_round);
    free(targets);
    return 0;
}

/*
 * engine.c — the probe engine: one io_uring, a fixed in-flight table, batches in, results out.
 *
 * Basic algorithm
 *   submit: for each request take a free slot, build the packet inside the slot, queue one
 *           IORING_OP_SENDMSG (ICMP, TCP SYN) or CONNECT + LINK_TIMEOUT (TCP connect); stamp
 *           the chunk's send time and deadlines just before io_uring_enter, so the user-space
 *           clock is as close to the send as it can be without a syscall per probe.
 *   poll:   reap CQEs in batches of up to 256: error-queue notices first (TX timestamps must
 *           land before the replies they belong to), then sends, connects and replies; expire
 *           deadlines from the heap; re-arm multishot requests that ended; hand out results.
 *           When nothing is ready, sleep in io_uring_enter until the next deadline, a CQE, or
 *           a wake from another thread (eventfd read).
 *
 * Costs: O(1) per send and per reply (a keyed identity drawn per send: one SipHash-2-4 of 16
 * bytes, at most two on average; a reply finds its slot through token_index: identity.c),
 * O(log n) per deadline heap change, one io_uring_enter per submitted chunk and per poll that
 * waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

#define CQE_BATCH 256
/* Probes per io_uring_enter. On loopback every reply (and its TX-stamp clone) is queued on
 * the socket during the enter that sends the request; completions only drain the socket
 * between enters, so an unbounded chunk overflows the receive buffer (measured: a single
 * 10,000-probe enter lost 44% of replies with a 4 MiB buffer). */
#define SUBMIT_CHUNK 256
#define MAX_TIMEOUT_MS 600000u

_Static_assert(sizeof(cprobe_request) == 72, "cprobe_request layout is read by Swift");
_Static_assert(sizeof(struct in6_pktinfo) == PKTINFO_MAX && sizeof(struct in_pktinfo) <= PKTINFO_MAX,
               "SEND_CTRL_LEN has room for either pktinfo");
_Static_assert(sizeof(cprobe_result) == 64, "cprobe_result layout is read by Swift");
_Static_assert(sizeof(cprobe_stats) == (11 + CPROBE_REFUSAL_COUNT) * 8,
               "cprobe_stats layout is read by Swift");

static uint32_t round_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << CPROBE_SLOT_BITS))
        p <<= 1;
    return p;
}

/* ---------- submission ---------- */

static socklen_t fill_sockaddr(struct sockaddr_in6 *sa, int family, const uint8_t *addr, uint16_t port)
{
    memset(sa, 0, sizeof(*sa));
    if (family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, addr, 4);
        return sizeof(*s4);
    }
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    memcpy(&sa->sin6_addr, addr, 16);
    return sizeof(*sa);
}

/*
 * TTL and TOS ride on each send as control messages (IP_TTL / IP_TOS, IPV6_HOPLIMIT /
 * IPV6_TCLASS: raw and ping sockets take them per packet) rather than on sockets of their
 * own: a trace sends every TTL from 1 to 30 to thousands of targets, and a socket per TTL
 * would be 30 more raw sockets, each handed a copy of every ICMP packet the host receives.
 * A default probe (no option) carries no control message and costs nothing more. Measured
 * (scripts/bench-packet-options.sh, 10k loopback targets, medians of 5): 3.71 µs/probe in the
 * engine without options, 3.54 with a TTL message, 3.85 with TTL + TOS — within the noise.
 */
static socklen_t fill_ctrl(struct slot *s)
{
    int level = s->family == 4 ? IPPROTO_IP : IPPROTO_IPV6;
    struct msghdr m = { .msg_control = s->ctrl, .msg_controllen = sizeof(s->ctrl) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    socklen_t used = 0;
    const int values[2] = { s->ttl, s->tos };
    const int types[2] = { s->family == 4 ? IP_TTL : IPV6_HOPLIMIT, s->family == 4 ? IP_TOS : IPV6_TCLASS };
    for (int i = 0; i < 2; i++) {
        if (!values[i])
            continue;
        c->cmsg_level = level;
        c->cmsg_type = types[i];
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &values[i], sizeof(int));
        used += CMSG_SPACE(sizeof(int));
        c = (struct cmsghdr *)((uint8_t *)c + CMSG_SPACE(sizeof(int)));
    }
    if (!s->ifindex && !(s->req_flags & CPROBE_REQ_SOURCE))
        return used;
    /* The source address and the interface: ipi_spec_dst / ipi6_addr and the ifindex. */
    c->cmsg_level = level;
    if (s->family == 4) {
        struct in_pktinfo pi = { .ipi_ifindex = (int)s->ifindex };
        if (s->req_flags & CPROBE_REQ_SOURCE)
            memcpy(&pi.ipi_spec_dst, s->src, 4);
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        return used + CMSG_SPACE(sizeof(pi));
    }
    struct in6_pktinfo pi6 = { .ipi6_ifindex = s->ifindex };
    if (s->req_flags & CPROBE_REQ_SOURCE)
        memcpy(&pi6.ipi6_addr, s->src, 16);
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi6));
    memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
    return used + CMSG_SPACE(sizeof(pi6));
}

/* Queue the sendmsg of the packet already built in the slot; an echo's payload beyond our
 * CPROBE_MIN_PAYLOAD bytes is the engine's shared zeros. */
static void queue_send(struct cprobe_engine *e, uint32_t idx, int fd, size_t len)
{
    struct slot *s = &e->slots[idx];
    s->iov[0] = (struct iovec){ s->pkt, len };
    size_t niov = 1;
    if (s->kind == CPROBE_KIND_ICMP && s->size > CPROBE_MIN_PAYLOAD)
        s->iov[niov++] = (struct iovec){ e->zeros, (size_t)s->size - CPROBE_MIN_PAYLOAD };
    s->msg = (struct msghdr){ .msg_name = &s->sa,
                              .msg_namelen = fill_sockaddr(&s->sa, s->family, s->addr, 0),
                              .msg_iov = s->iov, .msg_iovlen = niov };
    if (s->ttl || s->tos || s->ifindex || (s->req_flags & CPROBE_REQ_SOURCE)) {
        s->msg.msg_control = s->ctrl;
        s->msg.msg_controllen = fill_ctrl(s);
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    io_uring_prep_sendmsg(sqe, fd, &s->msg, 0);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_SEND, idx));
    s->pending_sqes = 1;
}

static int prepare_icmp(struct cprobe_engine *e, uint32_t idx, uint64_t now_real)
{
    struct slot *s = &e->slots[idx];
    int df = s->req_flags & CPROBE_REQ_DONT_FRAGMENT;
    struct probe_socket *ps = &e->socks[s->family == 4 ? SOCK_ICMP4 : SOCK_ICMP6];
    if (ps->fd < 0)
        return -EAFNOSUPPORT;
    if (df) {
        ps = &e->socks[s->family == 4 ? SOCK_ICMP4_DF : SOCK_ICMP6_DF];
        if (ps->fd < 0)
            return CPROBE_ERR_NOPERM; /* opened only with raw sockets */
    }
    if (identity_draw(e, idx) < 0)
        return -EBUSY;
    s->seq = (uint16_t)s->token; /* on a datagram socket the kernel writes its own identifier */
    size_t len = cprobe_build_echo(s->pkt, sizeof(s->pkt), s->family, (uint16_t)(s->token >> 16), s->seq,
                                   s->token, s->nonce, e->echo_tag, now_real);
    /* A flow's probes share one checksum: the send time's last two bytes compensate. The
     * shared zero padding adds nothing to the sum. */
    if (s->req_flags & CPROBE_REQ_FLOW)
        cprobe_echo_fix_sum(s->pkt, len, len - 2, (uint16_t)(1 + s->flow % 0xfffe), s->family);
    queue_send(e, idx, ps->fd, len);
    return 0;
}

static int prepare_syn(struct cprobe_engine *e, uint32_t idx, uint64_t now_mono)
{
    struct slot *s = &e->slots[idx];
    struct probe_socket *ps = &e->socks[s->family == 4 ? SOCK_TCP4 : SOCK_TCP6];
    if (ps->fd < 0)
        return e->info.had_cap_net_raw && !(e->flags & CPROBE_CFG_NO_RAW) ? -EAFNOSUPPORT
                                                                          : CPROBE_ERR_NOPERM;
    uint8_t src[4];
    const uint8_t *srcp = NULL, *dstp = NULL;
    if (s->family == 4) {
        if (s->req_flags & CPROBE_REQ_SOURCE) { /* the checksum covers the source we send from */
            memcpy(src, s->src, 4);
        } else {
            int rc = source_for(e, s->addr, src, now_mono);
            if (rc < 0)
                return rc;
        }
        srcp = src;
        dstp = s->addr;
    }
    if (identity_draw(e, idx) < 0)
        return -EBUSY;
    size_t len = cprobe_build_tcp_syn(s->pkt, sizeof(s->pkt), s->family, srcp, dstp, s->sport, s->port, s->token);
    queue_send(e, idx, ps->fd, len);
    return 0;
}

static int prepare_connect(struct cprobe_engine *e, uint32_t idx, uint32_t timeout_ms)
{
    struct slot *s = &e->slots[idx];
    int fd = socket(s->family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Linger 0: close() sends RST, so no TIME_WAIT piles up at 100k probes per cadence. */
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    s->conn_fd = fd;
    socklen_t len = fill_sockaddr(&s->sa, s->family, s->addr, s->port);
    s->ts.tv_sec = timeout_ms / 1000;
    s->ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    io_uring_prep_connect(sqe, fd, (struct sockaddr *)&s->sa, len);
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_CONNECT, idx));
    sqe = io_uring_get_sqe(&e->ring);
    io_uring_prep_link_timeout(sqe, &s->ts, 0);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_LINK_TIMEOUT, idx));
    s->pending_sqes = 2;
    return 0;
}

static int valid_request(const cprobe_request *r)
{
    if (r->family != 4 && r->family != 6)
        return -EAFNOSUPPORT;
    if (r->kind < CPROBE_KIND_ICMP || r->kind > CPROBE_KIND_TCP_CONNECT)
        return -EINVAL;
    if (r->kind != CPROBE_KIND_ICMP && r->port == 0)
        return -EINVAL;
    if (r->timeout_ms == 0 || r->timeout_ms > MAX_TIMEOUT_MS)
        return -EINVAL;
    if (r->size && (r->kind != CPROBE_KIND_ICMP || r->size < CPROBE_MIN_PAYLOAD || r->size > CPROBE_MAX_PAYLOAD))
        return -EINVAL;
    if ((r->flags & CPROBE_REQ_DONT_FRAGMENT) && r->kind != CPROBE_KIND_ICMP)
        return -EINVAL;
    if (r->flags & ~(CPROBE_REQ_DONT_FRAGMENT | CPROBE_REQ_FLOW | CPROBE_REQ_SOURCE))
        return -EINVAL;
    if ((r->ttl || r->tos || r->ifindex || (r->flags & CPROBE_REQ_SOURCE)) && r->kind == CPROBE_KIND_TCP_CONNECT)
        return -EINVAL; /* a connect's packets are the kernel's: not supported here */
    return 0;
}

static unsigned reap(struct cprobe_engine *e);

/* Stamp send times and deadlines of the chunk [from, to) of e->batch, enter the kernel, and
 * reap what came back meanwhile so the socket buffers drain before the next chunk. */
static void flush_chunk(struct cprobe_engine *e, uint32_t from, uint32_t to)
{
    uint64_t mono = mono_ns(), real = real_ns();
    for (uint32_t i = from; i < to; i++) {
        struct slot *s = &e->slots[e->batch[i]];
        s->sent_mono_ns = mono;
        s->sent_real_ns = real;
        s->deadline_ns = mono + (uint64_t)e->batch_timeout[i] * 1000000ull;
        if (s->state == SLOT_IN_FLIGHT && s->kind != CPROBE_KIND_TCP_CONNECT)
            heap_push(e, e->batch[i]);
    }
    io_uring_submit_and_get_events(&e->ring);
    reap(e);
}

static void rearm(struct cprobe_engine *e);

int cprobe_submit(cprobe_engine *e, const cprobe_request *reqs, size_t n)
{
    rearm(e); /* the first call arms the receives, from the thread that drives the engine */
    uint32_t chunk_start = 0, count = 0;
    uint64_t now_mono = mono_ns(), now_real = real_ns();
    size_t i;
    for (i = 0; i < n; i++) {
        const cprobe_request *r = &reqs[i];
        if (e->free_top == 0)
            break;
        if (io_uring_sq_space_left(&e->ring) < 2 || count - chunk_start >= SUBMIT_CHUNK) {
            flush_chunk(e, chunk_start, count);
            chunk_start = count;
            if (io_uring_sq_space_left(&e->ring) < 2)
                break;
        }
        uint32_t idx = e->free_stack[--e->free_top];
        struct slot *s = &e->slots[idx];
        s->cookie = r->cookie;
        s->kind = r->kind;
        s->family = r->family;
        s->port = r->port;
        s->seq = 0;
        s->indexed = 0;
        s->tx_kernel_ns = 0;
        s->due_ns = r->due_ns;
        s->ttl = r->ttl;
        s->tos = r->tos;
        s->req_flags = r->flags;
        s->size = r->size;
        s->flow = r->flow;
        s->ifindex = r->ifindex;
        memcpy(s->src, r->src, 16);
        /* The send time a probe refused before sending reports (flush_chunk restamps the rest). */
        s->sent_mono_ns = now_mono;
        s->sent_real_ns = now_real;
        s->heap_pos = NO_HEAP_POS;
        s->pending_sqes = 0;
        s->conn_fd = -1;
        memset(s->addr, 0, 16);
        memcpy(s->addr, r->addr, r->family == 4 ? 4 : 16);
        s->state = SLOT_IN_FLIGHT;
        e->in_flight++;
        e->stats.submitted++;
        e->batch[count] = idx;
        e->batch_timeout[count++] = r->timeout_ms;
        int rc = valid_request(r);
        if (rc == 0) {
            if (r->kind == CPROBE_KIND_ICMP)
                rc = prepare_icmp(e, idx, now_real);
            else if (r->kind == CPROBE_KIND_TCP_SYN)
                rc = prepare_syn(e, idx, now_mono);
            else
                rc = prepare_connect(e, idx, r->timeout_ms);
        }
        if (rc < 0) {
            e->stats.send_errors++;
            slot_finish(e, idx, CPROBE_ERROR, rc <= CPROBE_ERR_NOPERM ? EPERM : -rc);
        }
    }
    if (i < n)
        e->stats.backpressure += n - i;
    flush_chunk(e, chunk_start, count);
    return (int)i;
}

/* ---------- completion ---------- */

static void sqe_done(struct cprobe_engine *e, uint32_t idx)
{
    struct slot *s = &e->slots[idx];
    if (s->pending_sqes && --s->pending_sqes == 0 && s->state == SLOT_DELIVERED)
        slot_free(e, idx);
}

static void connect_done(struct cprobe_engine *e, uint32_t idx, int res)
{
    struct slot *s = &e->slots[idx];
    if (s->conn_fd >= 0) {
        close(s->conn_fd);
        s->conn_fd = -1;
    }
    uint8_t status;
    int err = 0;
    switch (res) {
    case 0: status = CPROBE_OK; break;
    case -ECONNREFUSED: status = CPROBE_REFUSED; break;
    case -ECANCELED:
    case -ETIME:
    case -ETIMEDOUT: status = CPROBE_TIMEOUT; break;
    case -EHOSTUNREACH:
    case -ENETUNREACH: status = CPROBE_UNREACHABLE; err = -res; break;
    default: status = CPROBE_ERROR; err = -res; break;
    }
    if (status == CPROBE_OK || status == CPROBE_REFUSED || status == CPROBE_UNREACHABLE) {
        slot_finish_reply(e, idx, status, 0, NULL);
        s->result.error = err;
    } else {
        slot_finish(e, idx, status, err);
    }
}

static void handle_cqe(struct cprobe_engine *e, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    uint32_t idx = ud_idx(ud);
    switch (ud_op(ud)) {
    case OP_SEND:
        if (cqe->res < 0) {
            e->stats.send_errors++;
            int unreach = cqe->res == -ENETUNREACH || cqe->res == -EHOSTUNREACH;
            slot_finish(e, idx, unreach ? CPROBE_UNREACHABLE : CPROBE_ERROR, -cqe->res);
        }
        sqe_done(e, idx);
        break;
    case OP_CONNECT:
        connect_done(e, idx, cqe->res);
        sqe_done(e, idx);
        break;
    case OP_LINK_TIMEOUT:
        sqe_done(e, idx);
        break;
    case OP_RECV:
        recv_complete(e, (int)idx, cqe);
        break;
    case OP_ERRPOLL:
        if (!(cqe->flags & IORING_CQE_F_MORE))
            e->socks[idx].errpoll_armed = 0;
        break;
    case OP_WAKE:
        e->wake_armed = 0;
        e->woken = 1;
        break;
    }
}

/* Reap every CQE that is ready. Returns how many were seen. */
static unsigned reap(struct cprobe_engine *e)
{
    struct io_uring_cqe *cqes[CQE_BATCH];
    unsigned total = 0;
    for (int round = 0; round < 64; round++) {
        unsigned n = io_uring_peek_batch_cqe(&e->ring, cqes, CQE_BATCH);
        if (n == 0)
            break;
        /* Error-queue notices first: a TX stamp must be read before its reply is matched. */
        for (unsigned i = 0; i < n; i++)
            if (ud_op(io_uring_cqe_get_data64(cqes[i])) == OP_ERRPOLL)
                e->socks[ud_idx(io_uring_cqe_get_data64(cqes[i]))].errq_dirty = 1;
        for (unsigned i = 0; i < n; i++)
            handle_cqe(e, cqes[i]);
        io_uring_cq_advance(&e->ring, n);
        total += n;
    }
    for (int s = 0; s < SOCK_COUNT; s++)
        if (e->socks[s].fd >= 0 && e->socks[s].errq_dirty)
            errq_drain(e, s);
    return total;
}

static void expire(struct cprobe_engine *e, uint64_t now)
{
    for (;;) {
        uint32_t idx = heap_peek(e);
        if (idx == UINT32_MAX || e->slots[idx].deadline_ns > now)
            break;
        slot_finish(e, idx, CPROBE_TIMEOUT, 0);
    }
}

static void rearm(struct cprobe_engine *e)
{
    for (int s = 0; s < SOCK_COUNT; s++) {
        if (e->socks[s].fd < 0)
            continue;
        if (!e->socks[s].recv_armed)
            recv_arm(e, s);
        if (!e->socks[s].errpoll_armed)
            errpoll_arm(e, s);
    }
    if (!e->wake_armed) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
        if (sqe) {
            io_uring_prep_read(sqe, e->wake_fd, &e->wake_val, sizeof(e->wake_val), 0);
            io_uring_sqe_set_data64(sqe, ud_pack(OP_WAKE, 0));
            e->wake_armed = 1;
        }
    }
}

static int hand_out(struct cprobe_engine *e, cprobe_result *out, size_t cap)
{
    size_t n = 0;
    while (n < cap && e->done_len) {
        uint32_t idx = e->done[e->done_head];
        e->done_head = (e->done_head + 1) & (e->max_in_flight - 1);
        e->done_len--;
        struct slot *s = &e->slots[idx];
        out[n++] = s->result;
        s->state = SLOT_DELIVERED;
        if (s->pending_sqes == 0)
            slot_free(e, idx);
    }
    return (int)n;
}

int cprobe_poll(cprobe_engine *e, cprobe_result *out, size_t cap, int timeout_ms)
{
    uint64_t start = mono_ns();
    uint64_t until = timeout_ms < 0 ? UINT64_MAX : start + (uint64_t)timeout_ms * 1000000ull;
    for (int round = 0; round < 1000; round++) {
        reap(e);
        uint64_t now = mono_ns();
        expire(e, now);
        rearm(e);
        if (e->done_len || now >= until || e->woken)
            break;
        uint64_t wake_at = until;
        uint32_t first = heap_peek(e);
        if (first != UINT32_MAX && e->slots[first].deadline_ns < wake_at)
            wake_at = e->slots[first].deadline_ns;
        struct __kernel_timespec ts = { 0, 0 };
        struct __kernel_timespec *tsp = NULL;
        if (wake_at != UINT64_MAX) {
            uint64_t d = wake_at > now ? wake_at - now : 0;
            ts.tv_sec = (long long)(d / 1000000000ull);
            ts.tv_nsec = (long long)(d % 1000000000ull);
            tsp = &ts;
        }
        struct io_uring_cqe *cqe;
        int rc = io_uring_submit_and_wait_timeout(&e->ring, &cqe, 1, tsp, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
            return rc;
    }
    e->woken = 0; /* a wake returns to the caller once, with or without results */
    io_uring_submit(&e->ring); /* push re-armed requests */
    return hand_out(e, out, cap);
}

void cprobe_engine_wake(cprobe_engine *e)
{
    uint64_t one = 1;
    ssize_t rc = write(e->wake_fd, &one, sizeof(one));
    (void)rc;
}

/* ---------- lifecycle ---------- */

static int ring_init(struct cprobe_engine *e, uint32_t entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
    p.cq_entries = entries * 8 > 65536 ? entries * 8 : 65536;
    int rc = io_uring_queue_init_params(entries, &e->ring, &p);
    if (rc == -EINVAL) { /* older kernel: plain ring */
        memset(&p, 0, sizeof(p));
        rc = io_uring_queue_init_params(entries, &e->ring, &p);
    }
    return rc;
}

static int fail(struct cprobe_engine *e, int rc, char *errbuf, size_t errlen, const char *what)
{
    if (errbuf && errlen && what) {
        const char *hint = cprobe_strerror_hint(rc);
        snprintf(errbuf, errlen, "%s: %s%s%s", what, strerror(-rc), hint ? " — " : "", hint ? hint : "");
    }
    cprobe_engine_destroy(e);
    return rc;
}

int cprobe_engine_create(const cprobe_config *cfg, cprobe_engine **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    struct cprobe_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->wake_fd = -1;
    e->udp_route_fd4 = -1;
    for (int i = 0; i < SOCK_COUNT; i++)
        e->socks[i].fd = -1;
    e->flags = cfg ? cfg->flags : 0;
    uint32_t want = cfg && cfg->max_in_flight ? cfg->max_in_flight : 65536;
    e->max_in_flight = round_pow2(want < 1024 ? 1024 : want);
    uint32_t entries = cfg && cfg->ring_entries ? cfg->ring_entries : 4096;
    int rc = identity_init(e);
    if (rc < 0)
        return fail(e, rc, errbuf, errlen, "drawing the identity key (getrandom)");
    /* The port range is fixed for the process (the kernel filter keeps to it); which port in
     * it a SYN uses is keyed per probe. */
    uint64_t r = cprobe_siphash24(e->key, "sport_base", 10);
    e->ours.sport_base = (uint16_t)(20000 + r % (32768 - 20000 - CPROBE_TCP_PORT_SPAN));
    e->echo_tag = (uint32_t)cprobe_siphash24(e->key, "echo tag", 8);

    rc = ring_init(e, entries);
    if (rc < 0)
        return fail(e, rc == -EPERM ? -ENOSYS : rc, errbuf, errlen, "io_uring_queue_init");
    e->ring_ok = 1;
    rc = sockets_open(e, errbuf, errlen);
    if (rc < 0)
        return fail(e, rc, NULL, 0, NULL);
    uint32_t m = e->max_in_flight;
    e->slots = calloc(m, sizeof(*e->slots));
    e->free_stack = calloc(m, sizeof(uint32_t));
    e->heap = calloc(m, sizeof(uint32_t));
    e->done = calloc(m, sizeof(uint32_t));
    e->batch = calloc(m, sizeof(uint32_t));
    e->batch_timeout = calloc(m, sizeof(uint32_t));
    e->src_cache = calloc(SRC_CACHE_SIZE, sizeof(*e->src_cache));
    e->zeros = calloc(1, CPROBE_MAX_PAYLOAD);
    if (!e->slots || !e->free_stack || !e->heap || !e->done || !e->batch || !e->batch_timeout || !e->src_cache ||
        !e->zeros)
        return fail(e, -ENOMEM, errbuf, errlen, "allocating the in-flight table");
    for (uint32_t i = 0; i < m; i++) {
        e->slots[i].conn_fd = -1;
        e->slots[i].heap_pos = NO_HEAP_POS;
        e->free_stack[i] = m - 1 - i;
    }
    e->free_top = m;
    rc = recv_setup(e);
    if (rc < 0)
        return fail(e, rc, errbuf, errlen, "registering receive buffers");
    e->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (e->wake_fd < 0)
        return fail(e, -errno, errbuf, errlen, "eventfd");
    /* The receives are armed by the first cprobe_submit or cprobe_poll, not here: io_uring runs a request's
     * completion work on the task that submitted it, and the agent creates the engine on its
     * main thread (before dropping capabilities) but drives it from the probing loop's thread.
     * Armed here, every reply woke the main thread to fight the loop for the ring's lock
     * (perf at 100k targets: 17% of the process's CPU). Packets that arrive before then wait
     * in the sockets' receive queues. */
    e->info.max_in_flight = e->max_in_flight;
    *out = e;
    return 0;
}

void cprobe_engine_destroy(cprobe_engine *e)
{
    if (!e)
        return;
    if (e->slots)
        for (uint32_t i = 0; i < e->max_in_flight; i++)
            if (e->slots[i].conn_fd >= 0)
                close(e->slots[i].conn_fd);
    if (e->ring_ok)
        io_uring_queue_exit(&e->ring);
    recv_teardown(e);
    sockets_close(e);
    if (e->wake_fd >= 0)
        close(e->wake_fd);
    free(e->slots);
    free(e->free_stack);
    free(e->heap);
    free(e->done);
    free(e->batch);
    free(e->batch_timeout);
    free(e->src_cache);
    free(e->token_index);
    free(e->zeros);
    explicit_bzero(e->key, sizeof(e->key));
    explicit_bzero(e->key_words, sizeof(e->key_words));
    free(e);
}

void cprobe_engine_stats(const cprobe_engine *e, cprobe_stats *out)
{
    *out = e->stats;
    out->in_flight = e->in_flight;
}

void cprobe_engine_info(const cprobe_engine *e, cprobe_info *out) { *out = e->info; }
uint32_t cprobe_engine_in_flight(const cprobe_engine *e) { return e->in_flight; }

void cprobe_engine_kept_back(cprobe_engine *e, size_t n) { e->stats.backpressure += n; }

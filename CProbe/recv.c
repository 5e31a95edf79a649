/*
 * recv.c — replies in, matched to probes.
 *
 * Each socket has one multishot IORING_OP_RECVMSG outstanding. The kernel picks a buffer
 * from a shared provided-buffer ring (RECV_BUF_COUNT x RECV_BUF_SIZE), writes an
 * io_uring_recvmsg_out header, the source address, the control messages (the RX timestamp)
 * and the packet, and posts one CQE per packet — no SQE per reply. The buffer goes back to
 * the ring as soon as the packet is parsed. When the ring runs dry the multishot request
 * ends (no IORING_CQE_F_MORE) and is re-armed; packets wait in the socket's receive buffer.
 *
 * TX timestamps and ICMP errors of datagram sockets come from the socket's error queue,
 * which io_uring does not read for us: a multishot poll for POLLERR tells us it is non-empty,
 * and errq_drain() empties it with recvmmsg(MSG_ERRQUEUE) — one syscall per batch of 64.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define BGID 7

int recv_setup(struct cprobe_engine *e)
{
    e->buf_ring_size = RECV_BUF_COUNT * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, e->buf_ring_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    e->buf_ring = mem;
    e->recv_bufs = aligned_alloc(64, (size_t)RECV_BUF_COUNT * RECV_BUF_SIZE);
    if (!e->recv_bufs)
        return -ENOMEM;
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem,
                                    .ring_entries = RECV_BUF_COUNT, .bgid = BGID };
    int rc = io_uring_register_buf_ring(&e->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(e->buf_ring);
    int mask = io_uring_buf_ring_mask(RECV_BUF_COUNT);
    for (int i = 0; i < RECV_BUF_COUNT; i++)
        io_uring_buf_ring_add(e->buf_ring, e->recv_bufs + (size_t)i * RECV_BUF_SIZE, RECV_BUF_SIZE,
                              (unsigned short)i, mask, i);
    io_uring_buf_ring_advance(e->buf_ring, RECV_BUF_COUNT);
    memset(&e->recv_msg, 0, sizeof(e->recv_msg));
    e->recv_msg.msg_namelen = sizeof(struct sockaddr_in6);
    e->recv_msg.msg_controllen = RECV_CTRL_LEN;
    return 0;
}

void recv_teardown(struct cprobe_engine *e)
{
    if (e->buf_ring)
        munmap(e->buf_ring, e->buf_ring_size);
    free(e->recv_bufs);
}

static struct io_uring_sqe *get_sqe(struct cprobe_engine *e)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    if (!sqe) {
        io_uring_submit(&e->ring);
        sqe = io_uring_get_sqe(&e->ring);
    }
    return sqe;
}

int recv_arm(struct cprobe_engine *e, int sock)
{
    struct io_uring_sqe *sqe = get_sqe(e);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_recvmsg_multishot(sqe, e->socks[sock].fd, &e->recv_msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_RECV, (uint32_t)sock));
    e->socks[sock].recv_armed = 1;
    return 0;
}

int errpoll_arm(struct cprobe_engine *e, int sock)
{
    struct io_uring_sqe *sqe = get_sqe(e);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_multishot(sqe, e->socks[sock].fd, POLLERR);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_ERRPOLL, (uint32_t)sock));
    e->socks[sock].errpoll_armed = 1;
    return 0;
}

static void count_verdict(struct cprobe_engine *e, int verdict)
{
    if (verdict == CPROBE_PARSE_FOREIGN)
        e->stats.unmatched_foreign++;
    else
        e->stats.unmatched_malformed++;
}

/* Classify one packet from socket s; src is the sender, dst (IPv6 only) our address. */
static int parse_packet(struct cprobe_engine *e, const struct probe_socket *s, const uint8_t *pkt,
                        size_t len, const struct sockaddr_in6 *from, cprobe_parsed *p)
{
    const uint8_t *src6 = (const uint8_t *)&from->sin6_addr;
    const uint8_t *src4 = (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr;
    if (s->kind == CPROBE_KIND_ICMP)
        return s->family == 4 ? cprobe_parse_icmp4(pkt, len, s->raw, src4, &e->ours, p)
                              : cprobe_parse_icmp6(pkt, len, src6, NULL, 0, !s->raw, &e->ours, p);
    /* IPv6 TCP checksums are verified by the kernel (IPV6_CHECKSUM), so no dst needed. */
    return s->family == 4 ? cprobe_parse_tcp4(pkt, len, &e->ours, p)
                          : cprobe_parse_tcp6(pkt, len, src6, NULL, &e->ours, p);
}

static uint64_t stamp_of(struct cmsghdr *c)
{
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING_OLD &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
        struct scm_timestamping ts;
        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        return (uint64_t)ts.ts[0].tv_sec * 1000000000ull + (uint64_t)ts.ts[0].tv_nsec;
    }
    return 0;
}

static void deliver(struct cprobe_engine *e, int sock, const cprobe_parsed *p, int verdict,
                    uint64_t rx_ns)
{
    if (verdict != CPROBE_PARSE_OK) {
        count_verdict(e, verdict);
        return;
    }
    if (e->socks[sock].errq_dirty)
        errq_drain(e, sock); /* pick up the TX stamp before we compute the RTT */
    int refusal = 0;
    struct slot *sl = slot_match(e, p, &refusal);
    if (!sl) {
        e->stats.refused[refusal]++;
        e->stats.unmatched_stale++;
        return;
    }
    uint8_t status = CPROBE_OK;
    if (p->kind == CPROBE_PKT_ICMP_ERROR)
        status = CPROBE_UNREACHABLE;
    else if (p->kind == CPROBE_PKT_TCP_RST)
        status = CPROBE_REFUSED;
    e->stats.replies_matched++;
    slot_finish_reply(e, (uint32_t)(sl - e->slots), status, rx_ns, p);
}

void recv_complete(struct cprobe_engine *e, int sock, struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        e->socks[sock].recv_armed = 0; /* re-armed by the poll loop */
    if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER))
        return; /* -ENOBUFS: ring dry, re-armed later */
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    uint8_t *buf = e->recv_bufs + (size_t)bid * RECV_BUF_SIZE;
    struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &e->recv_msg);
    if (o) {
        uint64_t rx_ns = 0;
        for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(o, &e->recv_msg); c;
             c = io_uring_recvmsg_cmsg_nexthdr(o, &e->recv_msg, c))
            if (!rx_ns)
                rx_ns = stamp_of(c);
        struct sockaddr_in6 from;
        memcpy(&from, io_uring_recvmsg_name(o), sizeof(from));
        uint8_t *pkt = io_uring_recvmsg_payload(o, &e->recv_msg);
        size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &e->recv_msg);
        cprobe_parsed p;
        int verdict = (o->flags & MSG_TRUNC) ? CPROBE_PARSE_TRUNCATED
                                             : parse_packet(e, &e->socks[sock], pkt, len, &from, &p);
        deliver(e, sock, &p, verdict, rx_ns);
    } else {
        e->stats.unmatched_malformed++;
    }
    io_uring_buf_ring_add(e->buf_ring, buf, RECV_BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(RECV_BUF_COUNT), 0);
    io_uring_buf_ring_advance(e->buf_ring, 1);
}

/*
 * A TX-timestamped copy of our own packet comes back with all headers the driver saw
 * (a link header, then IP). Find our probe in it: the echo payload magic, or a TCP header
 * with one of our source ports behind an IPv4/IPv6 header at offset 0 or 14. Only our own
 * sends reach this queue, so the token alone names the slot.
 */
static struct slot *find_sent(struct cprobe_engine *e, const uint8_t *d, size_t len)
{
    for (size_t off = 0; off + 12 <= len && off <= 96; off++) {
        if (d[off] == 'P' && d[off + 1] == 'R' && d[off + 2] == 'B' && d[off + 3] == '1') {
            uint32_t token = (uint32_t)d[off + 4] << 24 | d[off + 5] << 16 | d[off + 6] << 8 | d[off + 7];
            struct slot *s = slot_by_token(e, token);
            return s && s->kind == CPROBE_KIND_ICMP ? s : NULL;
        }
    }
    static const size_t offsets[] = { 0, 14 };
    for (size_t i = 0; i < 2; i++) {
        size_t off = offsets[i], th;
        if (off + 40 > len)
            continue;
        const uint8_t *ip = d + off;
        if ((ip[0] >> 4) == 4 && ip[9] == IPPROTO_TCP)
            th = off + (size_t)(ip[0] & 0xf) * 4;
        else if ((ip[0] >> 4) == 6 && ip[6] == IPPROTO_TCP)
            th = off + 40;
        else
            continue;
        if (th + 8 > len)
            continue;
        uint16_t sport = (uint16_t)(d[th] << 8 | d[th + 1]);
        if ((uint16_t)(sport - e->ours.sport_base) >= CPROBE_TCP_PORT_SPAN)
            continue;
        uint32_t isn = (uint32_t)d[th + 4] << 24 | d[th + 5] << 16 | d[th + 6] << 8 | d[th + 7];
        struct slot *s = slot_by_token(e, isn);
        return s && s->kind == CPROBE_KIND_TCP_SYN && s->sport == sport ? s : NULL;
    }
    return NULL;
}

/* An ICMP error for a datagram socket: the payload is the quoted part of our echo request
 * (the kernel matched its identifier to the socket), msg_name the quoted destination. */
static void errq_icmp_error(struct cprobe_engine *e, int sock, const struct sock_extended_err *ee,
                            const struct sockaddr_in6 *dst, const uint8_t *d, size_t len)
{
    const struct probe_socket *s = &e->socks[sock];
    cprobe_parsed p;
    memset(&p, 0, sizeof(p));
    /* Without the payload there is only the sequence (the identifier is the kernel's): not
     * enough to name a probe. */
    if (len < 8 + 12 || d[8] != 'P' || d[9] != 'R' || d[10] != 'B' || d[11] != '1') {
        e->stats.unmatched_malformed++;
        return;
    }
    p.kind = CPROBE_PKT_ICMP_ERROR;
    p.family = s->family;
    p.probe_kind = CPROBE_KIND_ICMP;
    p.icmp_type = ee->ee_type;
    p.icmp_code = ee->ee_code;
    /* The kernel puts the reported MTU of frag needed / packet too big in ee_info. */
    if ((s->family == 4 && ee->ee_type == 3 && ee->ee_code == 4) || (s->family == 6 && ee->ee_type == 2))
        p.mtu = ee->ee_info;
    p.token = (uint32_t)d[12] << 24 | d[13] << 16 | d[14] << 8 | d[15];
    p.nonce = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
    p.has_nonce = 1;
    p.ident = (uint16_t)(d[4] << 8 | d[5]);
    p.seq = (uint16_t)(d[6] << 8 | d[7]);
    if (p.seq != (uint16_t)p.token) {
        e->stats.unmatched_foreign++;
        return;
    }
    if (dst->sin6_family == AF_INET)
        memcpy(p.peer, &((const struct sockaddr_in *)dst)->sin_addr, 4);
    else if (dst->sin6_family == AF_INET6)
        memcpy(p.peer, &dst->sin6_addr, 16);
    const struct sockaddr *off = SO_EE_OFFENDER(ee);
    if (off->sa_family == AF_INET)
        memcpy(p.reporter, &((const struct sockaddr_in *)off)->sin_addr, 4);
    else if (off->sa_family == AF_INET6)
        memcpy(p.reporter, &((const struct sockaddr_in6 *)off)->sin6_addr, 16);
    deliver(e, sock, &p, CPROBE_PARSE_OK, 0);
}

static void errq_one(struct cprobe_engine *e, int sock, struct msghdr *m, size_t len)
{
    uint64_t tx_ns = 0;
    const struct sock_extended_err *ee = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (!tx_ns)
            tx_ns = stamp_of(c);
        if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
            ee = (const struct sock_extended_err *)CMSG_DATA(c);
    }
    const uint8_t *d = m->msg_iov->iov_base;
    if (ee && (ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6)) {
        errq_icmp_error(e, sock, ee, m->msg_name, d, len);
        return;
    }
    struct slot *sl = tx_ns ? find_sent(e, d, len) : NULL;
    if (sl) {
        sl->tx_kernel_ns = tx_ns;
        e->stats.tx_timestamps++;
    }
}

void errq_drain(struct cprobe_engine *e, int sock)
{
    e->socks[sock].errq_dirty = 0;
    for (int round = 0; round < 64; round++) { /* bounded: 4096 entries per call */
        for (int i = 0; i < ERRQ_BATCH; i++) {
            e->errq_iov[i] = (struct iovec){ e->errq_data[i], ERRQ_BUF };
            memset(&e->errq_name[i], 0, sizeof(e->errq_name[i]));
            e->errq_msgs[i].msg_hdr = (struct msghdr){ .msg_name = &e->errq_name[i],
                                                       .msg_namelen = sizeof(e->errq_name[i]),
                                                       .msg_iov = &e->errq_iov[i], .msg_iovlen = 1,
                                                       .msg_control = e->errq_ctrl[i],
                                                       .msg_controllen = RECV_CTRL_LEN };
        }
        int n = recvmmsg(e->socks[sock].fd, e->errq_msgs, ERRQ_BATCH, MSG_ERRQUEUE | MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            errq_one(e, sock, &e->errq_msgs[i].msg_hdr, e->errq_msgs[i].msg_len);
        if (n < ERRQ_BATCH)
            return;
    }
    e->socks[sock].errq_dirty = 1; /* more left: continue next round */
}

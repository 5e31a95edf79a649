/*
 * sockets.c — open the shared probe sockets, one per (family, protocol), and fit them with
 * kernel-side filters and timestamping.
 *
 * Raw ICMP sockets see every ICMP packet the host receives, so two filters keep the rest out
 * before it ever reaches us: ICMP_FILTER / ICMP6_FILTER by type (echo reply and the errors
 * that quote a probe), then a classic BPF program that drops echo replies without our
 * payload magic and this engine's tag. Raw TCP sockets see every TCP segment; their BPF
 * program keeps only segments to our source-port range.
 *
 * The trade-off of the tag: identifiers are keyed per probe (identity.c), so no range of
 * them is ours to filter on, as it was when they were fixed per process. The payload's magic
 * and a random tag per engine keep out other programs' echo replies (ping and fping carry
 * neither) and other engines' (agentctl probe next to the agent: without the tag each would
 * queue, parse and refuse all of the other's replies, and a burst could overflow its receive
 * buffer). The tag is fixed per engine and seen in every echo request, so it identifies the
 * agent's traffic (as the magic does) and proves nothing: a forger that copies it gets its
 * packet copied to us and refused in user space (match.c), at a few hundred nanoseconds
 * each. That is where the check belongs; the filter only saves work.
 *
 * Don't-fragment probes (CPROBE_REQ_DONT_FRAGMENT) leave from a raw ICMP socket per family
 * of their own, set to IP_PMTUDISC_PROBE / IPV6_PMTUDISC_PROBE + IPV6_DONTFRAG: DF set, no
 * local fragmentation, and the path MTU the kernel has learnt ignored, so every probe over a
 * link's MTU draws the router's "fragmentation needed" / "packet too big" rather than the
 * first only (the shared sockets keep the kernel's default, IP_PMTUDISC_WANT). Those sockets
 * only send: their type filter blocks every ICMP type, so the kernel does not even copy
 * incoming ICMP to them (the filter is checked before the clone); the answers arrive on the
 * shared socket of the family, which sees every ICMP packet anyway.
 *
 * Without CAP_NET_RAW the ICMP sockets fall back to SOCK_DGRAM/IPPROTO_ICMP ("ping sockets",
 * allowed by net.ipv4.ping_group_range); the kernel then owns the identifier (one per socket,
 * seen in every probe) and matches replies to the socket itself; the payload's token and
 * nonce still name the probe. TCP SYN probes need raw sockets and are refused without.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <linux/net_tstamp.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define BPF_STMT_(code, k) ((struct sock_filter){ (unsigned short)(code), 0, 0, (k) })
#define BPF_JUMP_(code, k, jt, jf) ((struct sock_filter){ (unsigned short)(code), (jt), (jf), (k) })
#define ACCEPT 0x40000u

static int attach(int fd, struct sock_filter *f, unsigned short n)
{
    struct sock_fprog prog = { .len = n, .filter = f };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* IPv4 raw ICMP: the packet starts at the IP header. Echo replies must carry magic and tag. */
static int filter_icmp4(int fd, uint32_t tag)
{
    struct icmp_filter types = { .data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
                                           (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB)) };
    if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &types, sizeof(types)) < 0)
        return -1;
    struct sock_filter f[] = {
        BPF_STMT_(BPF_LDX | BPF_B | BPF_MSH, 0),                /* x = IP header length */
        BPF_STMT_(BPF_LD | BPF_B | BPF_IND, 0),                 /* a = ICMP type */
        BPF_JUMP_(BPF_JMP | BPF_JEQ | BPF_K, ICMP_ECHOREPLY, 0, 4),
        BPF_STMT_(BPF_LD | BPF_W | BPF_IND, 8),                 /* a = payload magic (short: drop) */
        BPF_JUMP_(BPF_JMP | BPF_JEQ | BPF_K, CPROBE_MAGIC, 0, 3),
        BPF_STMT_(BPF_LD | BPF_W | BPF_IND, 20),                /* a = engine tag */
        BPF_JUMP_(BPF_JMP | BPF_JEQ | BPF_K, tag, 0, 1),
        BPF_STMT_(BPF_RET | BPF_K, ACCEPT),                     /* ours, or an error: user space */
        BPF_STMT_(BPF_RET | BPF_K, 0),
    };
    return attach(fd, f, sizeof(f) / sizeof(f[0]));
}

/* IPv6 raw ICMP: the packet starts at the ICMPv6 header. */
static int filter_icmp6(int fd, uint32_t tag)
{
    struct icmp6_filter types;
    ICMP6_FILTER_SETBLOCKALL(&types);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &types);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &types);
    ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &types);
    ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &types);
    ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &types);
    if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &types, sizeof(types)) < 0)
        return -1;
    struct sock_filter f[] = {
        BPF_STMT_(BPF_LD | BPF_B | BPF_ABS, 0),
        BPF_JUMP_(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_ECHO_REPLY, 0, 4),
        BPF_STMT_(BPF_LD | BPF_W | BPF_ABS, 8),
        BPF_JUMP_(BPF_JMP | BPF_JEQ | BPF_K, CPROBE_MAGIC, 0, 3),
        BPF_STMT_(BPF_LD | BPF_W | BPF_ABS, 20),
        BPF_JUMP_(BPF_JMP | BPF_JEQ | BPF_K, tag, 0, 1),
        BPF_STMT_(BPF_RET | BPF_K, ACCEPT),
        BPF_STMT_(BPF_RET | BPF_K, 0),
    };
    return attach(fd, f, sizeof(f) / sizeof(f[0]));
}

/* Raw TCP: keep segments to our source-port range (v4 starts at the IP header, v6 at TCP). */
static int filter_tcp(int fd, int family, const cprobe_ours *o)
{
    uint32_t lo = o->sport_base, hi = (uint32_t)o->sport_base + CPROBE_TCP_PORT_SPAN;
    struct sock_filter v4[] = {
        BPF_STMT_(BPF_LDX | BPF_B | BPF_MSH, 0),
        BPF_STMT_(BPF_LD | BPF_H | BPF_IND, 2),
        BPF_JUMP_(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 2),
        BPF_JUMP_(BPF_JMP | BPF_JGE | BPF_K, hi, 1, 0),
        BPF_STMT_(BPF_RET | BPF_K, ACCEPT),
        BPF_STMT_(BPF_RET | BPF_K, 0),
    };
    struct sock_filter v6[] = {
        BPF_STMT_(BPF_LD | BPF_H | BPF_ABS, 2),
        BPF_JUMP_(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 2),
        BPF_JUMP_(BPF_JMP | BPF_JGE | BPF_K, hi, 1, 0),
        BPF_STMT_(BPF_RET | BPF_K, ACCEPT),
        BPF_STMT_(BPF_RET | BPF_K, 0),
    };
    if (family == 4)
        return attach(fd, v4, sizeof(v4) / sizeof(v4[0]));
    int offset = 16; /* the kernel computes and verifies the TCP checksum for us */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof(offset)) < 0)
        return -1;
    return attach(fd, v6, sizeof(v6) / sizeof(v6[0]));
}

/* A send-only ICMP socket that never fragments (see the top of the file). */
static int setup_dont_fragment(int fd, int family)
{
    static struct sock_filter none[] = { BPF_STMT_(BPF_RET | BPF_K, 0) };
    int probe = family == 4 ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE, on = 1;
    if (family == 4) {
        struct icmp_filter types = { .data = ~0u };
        if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &types, sizeof(types)) < 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe)) < 0)
            return -1;
    } else {
        struct icmp6_filter types;
        ICMP6_FILTER_SETBLOCKALL(&types);
        if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &types, sizeof(types)) < 0 ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof(probe)) < 0 ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on, sizeof(on)) < 0)
            return -1;
    }
    return attach(fd, none, 1);
}

static void enable_timestamps(int fd)
{
    /* Software RX stamps on every reply, TX stamps looped back on the error queue with the
     * packet (not OPT_TSONLY) so we can tell which probe each stamp belongs to. */
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |
                SOF_TIMESTAMPING_SOFTWARE;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD, &flags, sizeof(flags));
}

static void grow_buffers(int fd)
{
    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int open_raw(int family, int proto)
{
    return socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

/* Unprivileged ICMP socket bound to identifier `ident` (the kernel calls it the port). */
static int open_dgram_icmp(int family, uint16_t *ident)
{
    int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
    if (fd < 0)
        return -1;
    struct sockaddr_in6 sa = { 0 };
    socklen_t len = family == 4 ? sizeof(struct sockaddr_in) : sizeof(sa);
    sa.sin6_family = family == 4 ? AF_INET : AF_INET6;
    /* sin_port and sin6_port sit at the same offset */
    sa.sin6_port = htons(*ident);
    if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
        sa.sin6_port = 0; /* identifier taken: let the kernel pick one */
        if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
            close(fd);
            return -1;
        }
    }
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        *ident = ntohs(sa.sin6_port);
    int on = 1; /* ICMP errors for datagram sockets arrive on the error queue */
    if (family == 4)
        setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
    else
        setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
    return fd;
}

static void add(struct cprobe_engine *e, int idx, int fd, int family, int raw, int kind)
{
    e->socks[idx] = (struct probe_socket){ .fd = fd, .family = (uint8_t)family, .raw = (uint8_t)raw,
                                           .kind = (uint8_t)kind };
    if (!(e->flags & CPROBE_CFG_NO_TIMESTAMPS))
        enable_timestamps(fd);
    grow_buffers(fd);
}

int sockets_open(struct cprobe_engine *e, char *errbuf, size_t errlen)
{
    for (int i = 0; i < SOCK_COUNT; i++)
        e->socks[i].fd = -1;
    int have_raw = !(e->flags & CPROBE_CFG_NO_RAW) && cprobe_have_cap_net_raw();
    int manage_caps = have_raw && !(e->flags & CPROBE_CFG_KEEP_CAPS);
    e->info.had_cap_net_raw = (uint8_t)cprobe_have_cap_net_raw();
    if (manage_caps && (caps_limit_to_net_raw() < 0 || caps_raise_net_raw() < 0))
        have_raw = 0;

    if (have_raw) {
        int fds[SOCK_COUNT] = { open_raw(4, IPPROTO_ICMP), open_raw(6, IPPROTO_ICMPV6),
                                open_raw(4, IPPROTO_TCP), open_raw(6, IPPROTO_TCP),
                                open_raw(4, IPPROTO_ICMP), open_raw(6, IPPROTO_ICMPV6) };
        int kinds[SOCK_COUNT] = { CPROBE_KIND_ICMP, CPROBE_KIND_ICMP, CPROBE_KIND_TCP_SYN,
                                  CPROBE_KIND_TCP_SYN, CPROBE_KIND_ICMP, CPROBE_KIND_ICMP };
        for (int i = 0; i < SOCK_COUNT; i++)
            if (fds[i] >= 0)
                add(e, i, fds[i], (i == SOCK_ICMP4 || i == SOCK_TCP4 || i == SOCK_ICMP4_DF) ? 4 : 6, 1, kinds[i]);
    }
    if (manage_caps)
        caps_drop_all();

    /* Unprivileged fallback for ICMP: one ping socket per family, at a keyed identifier. */
    for (int fam = 4; fam <= 6; fam += 2) {
        int idx = fam == 4 ? SOCK_ICMP4 : SOCK_ICMP6;
        if (e->socks[idx].fd >= 0)
            continue;
        uint16_t ident = (uint16_t)cprobe_siphash24(e->key, "ping ident", 10);
        int fd = open_dgram_icmp(fam, &ident);
        if (fd >= 0)
            add(e, idx, fd, fam, 0, CPROBE_KIND_ICMP);
    }

    int ok = 1;
    for (int i = 0; i < SOCK_COUNT && ok; i++) {
        struct probe_socket *s = &e->socks[i];
        if (s->fd < 0 || !s->raw)
            continue;
        if (i == SOCK_ICMP4_DF || i == SOCK_ICMP6_DF)
            ok = setup_dont_fragment(s->fd, s->family) == 0;
        else if (i == SOCK_ICMP4)
            ok = filter_icmp4(s->fd, e->echo_tag) == 0;
        else if (i == SOCK_ICMP6)
            ok = filter_icmp6(s->fd, e->echo_tag) == 0;
        else
            ok = filter_tcp(s->fd, s->family, &e->ours) == 0;
    }
    if (!ok) {
        snprintf(errbuf, errlen, "attaching the kernel packet filter failed: %s", strerror(errno));
        return -errno;
    }
    if (e->socks[SOCK_ICMP4].fd < 0 && e->socks[SOCK_ICMP6].fd < 0) {
        snprintf(errbuf, errlen, "no ICMP socket could be opened (%s): %s", strerror(errno),
                 cprobe_strerror_hint(CPROBE_ERR_NOSOCKET));
        return CPROBE_ERR_NOSOCKET;
    }
    e->udp_route_fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    e->info.icmp4_raw = e->socks[SOCK_ICMP4].fd >= 0 && e->socks[SOCK_ICMP4].raw;
    e->info.icmp6_raw = e->socks[SOCK_ICMP6].fd >= 0 && e->socks[SOCK_ICMP6].raw;
    e->info.icmp4_dgram = e->socks[SOCK_ICMP4].fd >= 0 && !e->socks[SOCK_ICMP4].raw;
    e->info.icmp6_dgram = e->socks[SOCK_ICMP6].fd >= 0 && !e->socks[SOCK_ICMP6].raw;
    e->info.tcp4_raw = e->socks[SOCK_TCP4].fd >= 0;
    e->info.tcp6_raw = e->socks[SOCK_TCP6].fd >= 0;
    e->info.icmp4_df = e->socks[SOCK_ICMP4_DF].fd >= 0;
    e->info.icmp6_df = e->socks[SOCK_ICMP6_DF].fd >= 0;
    e->info.caps_dropped = (uint8_t)cprobe_caps_all_dropped();
    return 0;
}

void sockets_close(struct cprobe_engine *e)
{
    for (int i = 0; i < SOCK_COUNT; i++)
        if (e->socks[i].fd >= 0)
            close(e->socks[i].fd);
    if (e->udp_route_fd4 >= 0)
        close(e->udp_route_fd4);
}

/* The source address the kernel would pick for dst (needed for the IPv4 TCP checksum). */
int source_for(struct cprobe_engine *e, const uint8_t dst[4], uint8_t src_out[4], uint64_t now)
{
    uint32_t d;
    memcpy(&d, dst, 4);
    struct src_entry *c = &e->src_cache[(d * 2654435761u) >> 20 & (SRC_CACHE_SIZE - 1)];
    if (c->dst == d && c->expires_ns > now) {
        memcpy(src_out, &c->src, 4);
        return 0;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
    memcpy(&sa.sin_addr, dst, 4);
    socklen_t len = sizeof(sa);
    /* connect() on UDP only consults the routing table; nothing is sent. */
    if (connect(e->udp_route_fd4, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    if (getsockname(e->udp_route_fd4, (struct sockaddr *)&sa, &len) < 0)
        return -errno;
    c->dst = d;
    memcpy(&c->src, &sa.sin_addr, 4);
    c->expires_ns = now + 60ull * 1000000000ull;
    memcpy(src_out, &c->src, 4);
    return 0;
}

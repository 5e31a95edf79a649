/*
 * packet.c — build echo requests and TCP SYNs, classify received packets.
 *
 * Every parser reads through bounds-checked helpers (rd16/rd32 on a length that was checked
 * first), never casts the buffer to a struct, and treats every length field as hostile:
 * the fuzz target in fuzz/ drives these functions with arbitrary bytes.
 */
#include <string.h>

#include "cprobe.h"
#include "cprobe_packet.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_ICMP6 58
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t sum_bytes(const uint8_t *p, size_t len, uint32_t sum)
{
    while (len > 1) {
        sum += rd16(p);
        p += 2;
        len -= 2;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t cprobe_checksum(const void *data, size_t len, uint32_t sum)
{
    return fold(sum_bytes(data, len, sum));
}

/* Partial sum of the pseudo-header (RFC 793 / RFC 8200 §8.1). */
static uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                           uint32_t len)
{
    size_t alen = family == 6 ? 16 : 4;
    uint32_t sum = sum_bytes(src, alen, 0);
    sum = sum_bytes(dst, alen, sum);
    sum += proto;
    sum += len >> 16;
    sum += len & 0xffff;
    return sum;
}

size_t cprobe_build_echo(uint8_t *buf, size_t cap, int family, uint16_t ident, uint16_t seq,
                         uint32_t token, uint32_t nonce, uint32_t tag, uint64_t send_ns)
{
    if (cap < CPROBE_ECHO_LEN || (family != 4 && family != 6))
        return 0;
    memset(buf, 0, CPROBE_ECHO_LEN);
    buf[0] = family == 4 ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
    wr16(buf + 4, ident);
    wr16(buf + 6, seq);
    wr32(buf + 8, CPROBE_MAGIC);
    wr32(buf + 12, token);
    wr32(buf + 16, nonce);
    wr32(buf + 20, tag);
    wr32(buf + 24, (uint32_t)(send_ns >> 32));
    wr32(buf + 28, (uint32_t)send_ns);
    if (family == 4)
        wr16(buf + 2, cprobe_checksum(buf, CPROBE_ECHO_LEN, 0));
    return CPROBE_ECHO_LEN;
}

int cprobe_echo_fix_sum(uint8_t *buf, size_t len, size_t at, uint16_t target, int family)
{
    if (at % 2 || at + 2 > len || len < 8 || target == 0 || target == 0xffff)
        return -1;
    wr16(buf + 2, 0);
    wr16(buf + at, 0);
    uint32_t s = sum_bytes(buf, len, 0);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    /* One's-complement target - s, in [0, 0xfffe]: adding it brings the sum to target. */
    uint16_t w = (uint16_t)(((uint32_t)target + 0xffff - s) % 0xffff);
    wr16(buf + at, w);
    if (family == 4)
        wr16(buf + 2, (uint16_t)~target);
    return 0;
}

size_t cprobe_build_tcp_syn(uint8_t *buf, size_t cap, int family, const uint8_t *src,
                            const uint8_t *dst, uint16_t sport, uint16_t dport, uint32_t isn)
{
    if (cap < CPROBE_TCP_SYN_LEN || (family != 4 && family != 6))
        return 0;
    memset(buf, 0, CPROBE_TCP_SYN_LEN);
    wr16(buf, sport);
    wr16(buf + 2, dport);
    wr32(buf + 4, isn);
    buf[12] = (CPROBE_TCP_SYN_LEN / 4) << 4;
    buf[13] = TCP_SYN;
    wr16(buf + 14, 64240);
    buf[20] = 2; /* MSS option: some stacks ignore a SYN without one */
    buf[21] = 4;
    wr16(buf + 22, 1460);
    if (src && dst) {
        uint32_t sum = pseudo_sum(family, src, dst, PROTO_TCP, CPROBE_TCP_SYN_LEN);
        wr16(buf + 16, cprobe_checksum(buf, CPROBE_TCP_SYN_LEN, sum));
    }
    return CPROBE_TCP_SYN_LEN;
}

static int sport_ours(const cprobe_ours *o, uint16_t port)
{
    return (uint16_t)(port - o->sport_base) < CPROBE_TCP_PORT_SPAN;
}

/*
 * Our echo payload after the 8-byte ICMP header at icmp (len bytes in all): magic, token,
 * nonce. The header must agree with the token: identifier:sequence on raw sockets, the
 * sequence alone on datagram sockets (kernel_ident: the kernel owns their identifier).
 * Sets has_nonce, token and nonce when it does.
 */
static void read_token(const uint8_t *icmp, size_t len, int kernel_ident, cprobe_parsed *out)
{
    const uint8_t *payload = icmp + 8;
    if (len < 8 + 12 || rd32(payload) != CPROBE_MAGIC)
        return;
    uint32_t token = rd32(payload + 4);
    uint32_t header = (uint32_t)rd16(icmp + 4) << 16 | rd16(icmp + 6);
    if (kernel_ident ? (uint16_t)token != (uint16_t)header : token != header)
        return;
    out->has_nonce = 1;
    out->token = token;
    out->nonce = rd32(payload + 8);
}

/*
 * A quoted echo request (inner ICMP header at q, qlen bytes) or TCP SYN.
 * Returns CPROBE_PARSE_OK when it is one of ours in shape.
 */
static int parse_quoted(const uint8_t *q, size_t qlen, uint8_t proto, uint8_t echo_type,
                        int kernel_ident, const cprobe_ours *o, cprobe_parsed *out)
{
    if (proto == PROTO_TCP) {
        if (qlen < 8)
            return CPROBE_PARSE_TRUNCATED;
        uint16_t sport = rd16(q);
        if (!sport_ours(o, sport))
            return CPROBE_PARSE_FOREIGN;
        out->probe_kind = CPROBE_KIND_TCP_SYN;
        out->ident = sport;
        out->tcp_port = rd16(q + 2);
        out->token = rd32(q + 4);
        return CPROBE_PARSE_OK;
    }
    if (proto != PROTO_ICMP)
        return CPROBE_PARSE_FOREIGN; /* UDP and others: never ours, whatever their bytes say */
    if (qlen < 8)
        return CPROBE_PARSE_TRUNCATED;
    if (q[0] != echo_type)
        return CPROBE_PARSE_FOREIGN;
    out->probe_kind = CPROBE_KIND_ICMP;
    out->ident = rd16(q + 4);
    out->seq = rd16(q + 6);
    out->token = (uint32_t)out->ident << 16 | out->seq;
    read_token(q, qlen, kernel_ident, out);
    /* A quote long enough to carry our token must carry it: a quoted payload without our
     * magic, or naming another token, is someone else's echo request. Only a quote cut
     * short of the token (RFC 792 requires just 8 bytes) is matched on the header alone —
     * and on a datagram socket, whose identifier is the kernel's, not even that. */
    if (qlen >= 8 + 12 && !out->has_nonce)
        return CPROBE_PARSE_FOREIGN;
    if (kernel_ident && !out->has_nonce)
        return CPROBE_PARSE_TRUNCATED;
    return CPROBE_PARSE_OK;
}

/* An echo reply at icmp (v4 or v6; the sender is already in out->reporter): ours when the
 * payload carries our magic and a token the header agrees with. */
static int parse_echo_reply(const uint8_t *icmp, size_t len, int kernel_ident, cprobe_parsed *out)
{
    out->kind = CPROBE_PKT_ECHO_REPLY;
    out->probe_kind = CPROBE_KIND_ICMP;
    memcpy(out->peer, out->reporter, sizeof(out->peer));
    memset(out->reporter, 0, sizeof(out->reporter));
    out->ident = rd16(icmp + 4);
    out->seq = rd16(icmp + 6);
    if (len < 8 + 4 || rd32(icmp + 8) != CPROBE_MAGIC)
        return CPROBE_PARSE_FOREIGN;
    if (len < CPROBE_ECHO_LEN)
        return CPROBE_PARSE_TRUNCATED;
    read_token(icmp, len, kernel_ident, out);
    return out->has_nonce ? CPROBE_PARSE_OK : CPROBE_PARSE_FOREIGN;
}

/* An IPv4 header at p: returns its length, or 0 when it is not a sane IPv4 header. */
static size_t ip4_header_len(const uint8_t *p, size_t len)
{
    if (len < 20 || (p[0] >> 4) != 4)
        return 0;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    return ihl >= 20 && ihl <= len ? ihl : 0;
}

int cprobe_parse_icmp4(const uint8_t *pkt, size_t len, int has_ip_header, const uint8_t src[4],
                       const cprobe_ours *o, cprobe_parsed *out)
{
    memset(out, 0, sizeof(*out));
    out->family = 4;
    const uint8_t *icmp = pkt;
    size_t ilen = len;
    if (has_ip_header) {
        if (len < 20)
            return CPROBE_PARSE_TRUNCATED;
        size_t ihl = ip4_header_len(pkt, len);
        if (!ihl || pkt[9] != PROTO_ICMP)
            return CPROBE_PARSE_MALFORMED;
        memcpy(out->reporter, pkt + 12, 4);
        icmp = pkt + ihl;
        ilen = len - ihl;
    } else if (src) {
        memcpy(out->reporter, src, 4);
    }
    if (ilen < 8)
        return CPROBE_PARSE_TRUNCATED;
    uint8_t type = icmp[0];
    if (type == ICMP4_ECHO_REPLY) {
        int r = parse_echo_reply(icmp, ilen, !has_ip_header, out);
        if (r == CPROBE_PARSE_OK && has_ip_header && cprobe_checksum(icmp, ilen, 0) != 0)
            return CPROBE_PARSE_BAD_CHECKSUM;
        return r;
    }
    /* Errors that quote the offending datagram: unreachable, time exceeded, parameter problem. */
    if (type != 3 && type != 11 && type != 12)
        return CPROBE_PARSE_FOREIGN;
    out->kind = CPROBE_PKT_ICMP_ERROR;
    out->icmp_type = type;
    out->icmp_code = icmp[1];
    if (type == 3 && icmp[1] == 4) /* fragmentation needed: next-hop MTU (RFC 1191) */
        out->mtu = rd16(icmp + 6);
    const uint8_t *inner = icmp + 8;
    size_t inlen = ilen - 8;
    if (inlen < 20)
        return CPROBE_PARSE_TRUNCATED;
    size_t ihl = ip4_header_len(inner, inlen);
    if (!ihl)
        return CPROBE_PARSE_MALFORMED;
    memcpy(out->peer, inner + 16, 4);
    int r = parse_quoted(inner + ihl, inlen - ihl, inner[9], ICMP4_ECHO_REQUEST, !has_ip_header, o, out);
    if (r == CPROBE_PARSE_OK && has_ip_header && cprobe_checksum(icmp, ilen, 0) != 0)
        return CPROBE_PARSE_BAD_CHECKSUM;
    return r;
}

int cprobe_parse_icmp6(const uint8_t *pkt, size_t len, const uint8_t src[16],
                       const uint8_t dst[16], int verify_checksum, int kernel_ident,
                       const cprobe_ours *o, cprobe_parsed *out)
{
    memset(out, 0, sizeof(*out));
    out->family = 6;
    if (len < 8)
        return CPROBE_PARSE_TRUNCATED;
    if (src)
        memcpy(out->reporter, src, 16);
    uint8_t type = pkt[0];
    int is_error = type >= 1 && type <= 4;
    if (type != ICMP6_ECHO_REPLY && !is_error)
        return CPROBE_PARSE_FOREIGN;
    if (type == ICMP6_ECHO_REPLY) {
        int r = parse_echo_reply(pkt, len, kernel_ident, out);
        if (r != CPROBE_PARSE_OK)
            return r;
    } else {
        out->kind = CPROBE_PKT_ICMP_ERROR;
        out->icmp_type = type;
        out->icmp_code = pkt[1];
        if (type == 2) /* packet too big: the MTU (RFC 4443 §3.2) */
            out->mtu = rd32(pkt + 4);
        const uint8_t *inner = pkt + 8;
        size_t inlen = len - 8;
        if (inlen < 40)
            return CPROBE_PARSE_TRUNCATED;
        if ((inner[0] >> 4) != 6)
            return CPROBE_PARSE_MALFORMED;
        memcpy(out->peer, inner + 24, 16);
        int r = parse_quoted(inner + 40, inlen - 40, inner[6] == PROTO_ICMP6 ? PROTO_ICMP : inner[6],
                             ICMP6_ECHO_REQUEST, kernel_ident, o, out);
        if (r != CPROBE_PARSE_OK)
            return r;
    }
    if (verify_checksum && src && dst) {
        uint32_t sum = pseudo_sum(6, src, dst, PROTO_ICMP6, (uint32_t)len);
        if (cprobe_checksum(pkt, len, sum) != 0)
            return CPROBE_PARSE_BAD_CHECKSUM;
    }
    return CPROBE_PARSE_OK;
}

/* Shared TCP classification once the segment (tcp, tlen) and addresses are known. */
static int parse_tcp_segment(const uint8_t *tcp, size_t tlen, const cprobe_ours *o, cprobe_parsed *out)
{
    if (tlen < 20)
        return CPROBE_PARSE_TRUNCATED;
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < 20)
        return CPROBE_PARSE_MALFORMED;
    if (doff > tlen)
        return CPROBE_PARSE_TRUNCATED;
    uint16_t dport = rd16(tcp + 2);
    uint8_t flags = tcp[13];
    if (!sport_ours(o, dport))
        return CPROBE_PARSE_FOREIGN;
    if ((flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && !(flags & (TCP_RST | TCP_FIN)))
        out->kind = CPROBE_PKT_TCP_SYNACK;
    else if ((flags & (TCP_RST | TCP_ACK)) == (TCP_RST | TCP_ACK))
        out->kind = CPROBE_PKT_TCP_RST;
    else
        return CPROBE_PARSE_FOREIGN;
    /* No checksum check: with checksum offload (loopback, veth, most NICs) a raw socket sees
     * the segment before the checksum is final. ISN, ports and address pin the probe. */
    out->probe_kind = CPROBE_KIND_TCP_SYN;
    out->tcp_port = rd16(tcp);
    out->ident = dport;
    out->token = rd32(tcp + 8) - 1;
    return CPROBE_PARSE_OK;
}

int cprobe_parse_tcp4(const uint8_t *pkt, size_t len, const cprobe_ours *o, cprobe_parsed *out)
{
    memset(out, 0, sizeof(*out));
    out->family = 4;
    if (len < 20)
        return CPROBE_PARSE_TRUNCATED;
    size_t ihl = ip4_header_len(pkt, len);
    if (!ihl || pkt[9] != PROTO_TCP)
        return CPROBE_PARSE_MALFORMED;
    size_t total = rd16(pkt + 2);
    if (total < ihl || total > len)
        return CPROBE_PARSE_TRUNCATED;
    memcpy(out->peer, pkt + 12, 4);
    return parse_tcp_segment(pkt + ihl, total - ihl, o, out);
}

int cprobe_parse_tcp6(const uint8_t *pkt, size_t len, const uint8_t src[16],
                      const uint8_t dst[16], const cprobe_ours *o, cprobe_parsed *out)
{
    memset(out, 0, sizeof(*out));
    out->family = 6;
    if (src)
        memcpy(out->peer, src, 16);
    return parse_tcp_segment(pkt, len, o, out);
}

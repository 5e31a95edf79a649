/*
 * parse_fuzz.c — libFuzzer target for the CProbe packet parsers (packet.c).
 *
 * Byte 0 picks the parser and mode (see fuzz_common.h); the remaining bytes are the packet,
 * passed without a copy so AddressSanitizer's redzone sits right after its last byte.
 * Besides "no crash, no sanitizer report", every call checks the parser contract:
 *   - the verdict is one of CPROBE_PARSE_*;
 *   - an OK result has a valid kind, family and probe_kind; an echo reply carries the nonce
 *     and a token its header agrees with; TCP comes from our port range.
 * FUZZ_SEL_ROUNDTRIP uses the bytes as builder parameters instead: an echo request / TCP SYN
 * built by packet.c, answered the way a peer or router would, must parse back to the same
 * token and nonce.
 *
 * Build and run: scripts/fuzz.sh (or by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -ICProbe/include \
 *         CProbe/fuzz/parse_fuzz.c CProbe/packet.c -o parse_fuzz)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprobe.h"
#include "cprobe_packet.h"
#include "fuzz_common.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "parse_fuzz: contract violated: %s (%s:%d)\n", #cond, __FILE__,  \
                    __LINE__);                                                               \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static void check_result(int r, const cprobe_parsed *p, int family, int kernel_ident)
{
    CHECK(r >= CPROBE_PARSE_OK && r <= CPROBE_PARSE_MALFORMED);
    CHECK(p->family == family);
    if (r != CPROBE_PARSE_OK)
        return;
    CHECK(p->kind >= CPROBE_PKT_ECHO_REPLY && p->kind <= CPROBE_PKT_TCP_RST);
    CHECK(p->probe_kind == CPROBE_KIND_ICMP || p->probe_kind == CPROBE_KIND_TCP_SYN);
    CHECK(p->has_nonce <= 1);
    if (p->kind == CPROBE_PKT_TCP_SYNACK || p->kind == CPROBE_PKT_TCP_RST)
        CHECK(!p->has_nonce && p->probe_kind == CPROBE_KIND_TCP_SYN);
    if (p->kind == CPROBE_PKT_ECHO_REPLY)
        CHECK(p->has_nonce && p->probe_kind == CPROBE_KIND_ICMP);
    if (p->probe_kind == CPROBE_KIND_TCP_SYN)
        CHECK((uint16_t)(p->ident - fuzz_ours.sport_base) < CPROBE_TCP_PORT_SPAN);
    else if (p->has_nonce && kernel_ident)
        CHECK((uint16_t)p->token == p->seq); /* the kernel's identifier, our sequence */
    else
        CHECK(p->token == ((uint32_t)p->ident << 16 | p->seq));
}

static void run_parser(int sel, const uint8_t *pkt, size_t len)
{
    cprobe_parsed p;
    int r;
    switch (sel) {
    case FUZZ_SEL_ICMP4_RAW:
        r = cprobe_parse_icmp4(pkt, len, 1, NULL, &fuzz_ours, &p);
        check_result(r, &p, 4, 0);
        break;
    case FUZZ_SEL_ICMP4_DGRAM:
        r = cprobe_parse_icmp4(pkt, len, 0, fuzz_peer4, &fuzz_ours, &p);
        check_result(r, &p, 4, 1);
        break;
    case FUZZ_SEL_ICMP6:
        r = cprobe_parse_icmp6(pkt, len, fuzz_peer6, NULL, 0, 0, &fuzz_ours, &p);
        check_result(r, &p, 6, 0);
        break;
    case FUZZ_SEL_ICMP6_VERIFY:
        r = cprobe_parse_icmp6(pkt, len, fuzz_peer6, fuzz_us6, 1, 1, &fuzz_ours, &p);
        check_result(r, &p, 6, 1);
        break;
    case FUZZ_SEL_TCP4:
        r = cprobe_parse_tcp4(pkt, len, &fuzz_ours, &p);
        check_result(r, &p, 4, 0);
        break;
    case FUZZ_SEL_TCP6:
        r = cprobe_parse_tcp6(pkt, len, fuzz_peer6, fuzz_us6, &fuzz_ours, &p);
        check_result(r, &p, 6, 0);
        break;
    }
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Build with packet.c, answer like a peer / router would, parse back: same token and nonce. */
static void roundtrip(const uint8_t *d, size_t len)
{
    if (len < 12)
        return;
    uint32_t token = rd32(d);
    uint32_t nonce = rd32(d + 4);
    uint32_t isn = rd32(d + 8);
    int family = (d[0] & 0x80) ? 6 : 4;
    uint16_t ident = (uint16_t)(token >> 16);
    uint16_t seq = (uint16_t)token;
    cprobe_parsed p;
    int r;

    /* Echo request -> echo reply. */
    uint8_t echo[CPROBE_ECHO_LEN];
    CHECK(cprobe_build_echo(echo, sizeof(echo), family, ident, seq, token, nonce, ~isn, isn) == CPROBE_ECHO_LEN);
    if (family == 4)
        CHECK(cprobe_checksum(echo, sizeof(echo), 0) == 0);
    uint8_t reply[CPROBE_ECHO_LEN];
    memcpy(reply, echo, sizeof(reply));
    reply[0] = family == 4 ? 0 : 129;
    reply[2] = reply[3] = 0;
    if (family == 4) {
        uint16_t c = cprobe_checksum(reply, sizeof(reply), 0);
        reply[2] = (uint8_t)(c >> 8);
        reply[3] = (uint8_t)c;
        r = cprobe_parse_icmp4(reply, sizeof(reply), 0, fuzz_peer4, &fuzz_ours, &p);
    } else {
        uint8_t ph[40 + CPROBE_ECHO_LEN] = { 0 };
        memcpy(ph, fuzz_peer6, 16);
        memcpy(ph + 16, fuzz_us6, 16);
        ph[35] = CPROBE_ECHO_LEN;
        ph[39] = 58;
        memcpy(ph + 40, reply, sizeof(reply));
        uint16_t c = cprobe_checksum(ph, sizeof(ph), 0);
        reply[2] = (uint8_t)(c >> 8);
        reply[3] = (uint8_t)c;
        r = cprobe_parse_icmp6(reply, sizeof(reply), fuzz_peer6, fuzz_us6, 1, 0, &fuzz_ours, &p);
    }
    CHECK(r == CPROBE_PARSE_OK);
    CHECK(p.kind == CPROBE_PKT_ECHO_REPLY && p.has_nonce);
    CHECK(p.token == token && p.nonce == nonce);

    /* Echo request quoted by an ICMPv4 time exceeded (datagram mode). */
    if (family == 4) {
        uint8_t err[8 + 20 + CPROBE_ECHO_LEN] = { 11, 0 };
        uint8_t *ip = err + 8;
        ip[0] = 0x45;
        ip[3] = 20 + CPROBE_ECHO_LEN;
        ip[8] = 1;
        ip[9] = 1;
        memcpy(ip + 12, fuzz_us4, 4);
        memcpy(ip + 16, fuzz_peer4, 4);
        memcpy(ip + 20, echo, sizeof(echo));
        size_t quote = 8 + (d[1] % (CPROBE_ECHO_LEN - 8 + 1)); /* 8..32 bytes of the echo */
        r = cprobe_parse_icmp4(err, 8 + 20 + quote, 0, fuzz_router4, &fuzz_ours, &p);
        /* Datagram mode: without the payload's token the quote names no probe. */
        CHECK(r == (quote >= 8 + 12 ? CPROBE_PARSE_OK : CPROBE_PARSE_TRUNCATED));
        if (r == CPROBE_PARSE_OK) {
            CHECK(p.kind == CPROBE_PKT_ICMP_ERROR && p.has_nonce);
            CHECK(p.token == token && p.nonce == nonce && memcmp(p.peer, fuzz_peer4, 4) == 0);
        }
    }

    /* TCP SYN -> SYN-ACK. */
    uint16_t sport = (uint16_t)(fuzz_ours.sport_base + (nonce & (CPROBE_TCP_PORT_SPAN - 1)));
    uint16_t dport = (uint16_t)(d[2] << 8 | d[3]);
    uint8_t syn[CPROBE_TCP_SYN_LEN];
    const uint8_t *src = family == 4 ? fuzz_us4 : fuzz_us6, *dst = family == 4 ? fuzz_peer4 : fuzz_peer6;
    CHECK(cprobe_build_tcp_syn(syn, sizeof(syn), family, src, dst, sport, dport, isn) == CPROBE_TCP_SYN_LEN);
    uint8_t sa[20] = { 0 };
    sa[0] = (uint8_t)(dport >> 8);
    sa[1] = (uint8_t)dport;
    sa[2] = (uint8_t)(sport >> 8);
    sa[3] = (uint8_t)sport;
    uint32_t ack = isn + 1;
    sa[8] = (uint8_t)(ack >> 24);
    sa[9] = (uint8_t)(ack >> 16);
    sa[10] = (uint8_t)(ack >> 8);
    sa[11] = (uint8_t)ack;
    sa[12] = 5 << 4;
    sa[13] = (d[1] & 1) ? 0x14 /* RST|ACK */ : 0x12 /* SYN|ACK */;
    r = cprobe_parse_tcp6(sa, sizeof(sa), fuzz_peer6, fuzz_us6, &fuzz_ours, &p);
    CHECK(r == CPROBE_PARSE_OK);
    CHECK(p.kind == ((d[1] & 1) ? CPROBE_PKT_TCP_RST : CPROBE_PKT_TCP_SYNACK));
    CHECK(p.token == isn && !p.has_nonce && p.ident == sport && p.tcp_port == dport);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sel = data[0] % FUZZ_SEL_COUNT;
    const uint8_t *pkt = data + 1;
    size_t len = size - 1;
    if (sel == FUZZ_SEL_ROUNDTRIP) {
        roundtrip(pkt, len);
    } else if (sel == FUZZ_SEL_ALL) {
        for (int s = 0; s < FUZZ_SEL_ALL; s++)
            run_parser(s, pkt, len);
    } else {
        run_parser(sel, pkt, len);
    }
    return 0;
}

/*
 * gen_corpus.c — writes the seed corpus of parse_fuzz: one valid packet per file, prefixed
 * with the selector byte (fuzz_common.h). The generated files are committed in corpus/;
 * scripts/fuzz.sh --regen-corpus rebuilds them:
 *   clang -ICProbe/include CProbe/fuzz/gen_corpus.c CProbe/packet.c -o gen && ./gen CProbe/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprobe.h"
#include "cprobe_packet.h"
#include "fuzz_common.h"

#define TOKEN 0x40031234u
#define NONCE 0xdeadbeefu
#define TAG 0x7a67a67au
#define ISN 0xa5b56789u
#define SPORT ((uint16_t)(40000 + 0x189))

static const char *outdir;

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)(v >> 16)); wr16(p + 2, (uint16_t)v); }

static void emit(const char *name, int sel, const uint8_t *pkt, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint8_t s = (uint8_t)sel;
    if (fwrite(&s, 1, 1, f) != 1 || fwrite(pkt, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* IPv4 header at p for a payload of plen bytes; returns 20. */
static size_t ip4(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t plen)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    wr16(p + 2, (uint16_t)(20 + plen));
    p[6] = 0x40;
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    wr16(p + 10, cprobe_checksum(p, 20, 0));
    return 20;
}

static size_t ip6(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t nh, size_t plen)
{
    memset(p, 0, 40);
    p[0] = 0x60;
    wr16(p + 4, (uint16_t)plen);
    p[6] = nh;
    p[7] = 64;
    memcpy(p + 8, src, 16);
    memcpy(p + 24, dst, 16);
    return 40;
}

/* Checksum field at p+off over (pseudo-header for proto, or none when proto == 0) + p[0..len). */
static void csum(uint8_t *p, size_t len, size_t off, int family, const uint8_t *src,
                 const uint8_t *dst, uint8_t proto)
{
    uint8_t buf[1024];
    size_t alen = family == 6 ? 16 : 4, ph = 0;
    wr16(p + off, 0);
    if (proto) {
        memcpy(buf, src, alen);
        memcpy(buf + alen, dst, alen);
        ph = 2 * alen;
        if (family == 6) {
            wr32(buf + ph, (uint32_t)len);
            buf[ph + 4] = buf[ph + 5] = buf[ph + 6] = 0;
            buf[ph + 7] = proto;
            ph += 8;
        } else {
            buf[ph] = 0;
            buf[ph + 1] = proto;
            wr16(buf + ph + 2, (uint16_t)len);
            ph += 4;
        }
    }
    memcpy(buf + ph, p, len);
    wr16(p + off, cprobe_checksum(buf, ph + len, 0));
}

static size_t echo_reply(uint8_t *p, int family)
{
    cprobe_build_echo(p, CPROBE_ECHO_LEN, family, (uint16_t)(TOKEN >> 16), (uint16_t)TOKEN, TOKEN,
                      NONCE, TAG, 0x0102030405060708ull);
    p[0] = family == 4 ? 0 : 129;
    if (family == 4)
        csum(p, CPROBE_ECHO_LEN, 2, 4, NULL, NULL, 0);
    else
        csum(p, CPROBE_ECHO_LEN, 2, 6, fuzz_peer6, fuzz_us6, 58);
    return CPROBE_ECHO_LEN;
}

static size_t tcp_answer(uint8_t *p, int family, uint8_t flags)
{
    memset(p, 0, 24);
    wr16(p, 443);
    wr16(p + 2, SPORT);
    wr32(p + 4, 0x11112222u);
    wr32(p + 8, ISN + 1);
    p[12] = 6 << 4;
    p[13] = flags;
    wr16(p + 14, 65535);
    p[20] = 2;
    p[21] = 4;
    wr16(p + 22, 1460);
    if (family == 4)
        csum(p, 24, 16, 4, fuzz_peer4, fuzz_us4, 6);
    else
        csum(p, 24, 16, 6, fuzz_peer6, fuzz_us6, 6);
    return 24;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    uint8_t pkt[512];
    size_t n;
    uint16_t ident = (uint16_t)(TOKEN >> 16);

    /* ICMPv4 echo reply, raw and datagram. */
    n = ip4(pkt, fuzz_peer4, fuzz_us4, 1, CPROBE_ECHO_LEN);
    n += echo_reply(pkt + n, 4);
    emit("icmp4_raw_echo_reply", FUZZ_SEL_ICMP4_RAW, pkt, n);
    emit("all_icmp4_raw_echo_reply", FUZZ_SEL_ALL, pkt, n);
    emit("icmp4_dgram_echo_reply", FUZZ_SEL_ICMP4_DGRAM, pkt + 20, n - 20);

    /* ICMPv4 destination unreachable quoting our echo request. */
    size_t inner = 20 + CPROBE_ECHO_LEN, icmp = 8 + inner;
    n = ip4(pkt, fuzz_router4, fuzz_us4, 1, icmp);
    memset(pkt + n, 0, 8);
    pkt[n] = 3;
    pkt[n + 1] = 1;
    ip4(pkt + n + 8, fuzz_us4, fuzz_peer4, 1, CPROBE_ECHO_LEN);
    cprobe_build_echo(pkt + n + 28, CPROBE_ECHO_LEN, 4, ident, (uint16_t)TOKEN, TOKEN, NONCE, TAG, 42);
    csum(pkt + n, icmp, 2, 4, NULL, NULL, 0);
    emit("icmp4_raw_unreach_echo", FUZZ_SEL_ICMP4_RAW, pkt, n + icmp);
    emit("icmp4_dgram_unreach_echo", FUZZ_SEL_ICMP4_DGRAM, pkt + n, icmp);

    /* ICMPv4 time exceeded quoting our TCP SYN. */
    icmp = 8 + 20 + CPROBE_TCP_SYN_LEN;
    n = ip4(pkt, fuzz_router4, fuzz_us4, 1, icmp);
    memset(pkt + n, 0, 8);
    pkt[n] = 11;
    ip4(pkt + n + 8, fuzz_us4, fuzz_peer4, 6, CPROBE_TCP_SYN_LEN);
    cprobe_build_tcp_syn(pkt + n + 28, CPROBE_TCP_SYN_LEN, 4, fuzz_us4, fuzz_peer4, SPORT, 443, ISN);
    csum(pkt + n, icmp, 2, 4, NULL, NULL, 0);
    emit("icmp4_raw_timex_syn", FUZZ_SEL_ICMP4_RAW, pkt, n + icmp);

    /* ICMPv6 echo reply, with and without checksum verification. */
    n = echo_reply(pkt, 6);
    emit("icmp6_echo_reply", FUZZ_SEL_ICMP6, pkt, n);
    emit("icmp6_verify_echo_reply", FUZZ_SEL_ICMP6_VERIFY, pkt, n);
    emit("all_icmp6_echo_reply", FUZZ_SEL_ALL, pkt, n);

    /* ICMPv6 destination unreachable quoting our echo request; packet too big quoting a SYN. */
    icmp = 8 + 40 + CPROBE_ECHO_LEN;
    memset(pkt, 0, 8);
    pkt[0] = 1;
    pkt[1] = 4;
    ip6(pkt + 8, fuzz_us6, fuzz_peer6, 58, CPROBE_ECHO_LEN);
    cprobe_build_echo(pkt + 48, CPROBE_ECHO_LEN, 6, ident, (uint16_t)TOKEN, TOKEN, NONCE, TAG, 42);
    csum(pkt, icmp, 2, 6, fuzz_peer6, fuzz_us6, 58);
    emit("icmp6_verify_unreach_echo", FUZZ_SEL_ICMP6_VERIFY, pkt, icmp);
    icmp = 8 + 40 + CPROBE_TCP_SYN_LEN;
    memset(pkt, 0, 8);
    pkt[0] = 2;
    wr32(pkt + 4, 1280);
    ip6(pkt + 8, fuzz_us6, fuzz_peer6, 6, CPROBE_TCP_SYN_LEN);
    cprobe_build_tcp_syn(pkt + 48, CPROBE_TCP_SYN_LEN, 6, fuzz_us6, fuzz_peer6, SPORT, 443, ISN);
    csum(pkt, icmp, 2, 6, fuzz_peer6, fuzz_us6, 58);
    emit("icmp6_ptb_syn", FUZZ_SEL_ICMP6, pkt, icmp);

    /* TCP SYN-ACK / RST-ACK. */
    n = ip4(pkt, fuzz_peer4, fuzz_us4, 6, 24);
    n += tcp_answer(pkt + n, 4, 0x12);
    emit("tcp4_synack", FUZZ_SEL_TCP4, pkt, n);
    emit("all_tcp4_synack", FUZZ_SEL_ALL, pkt, n);
    n = ip4(pkt, fuzz_peer4, fuzz_us4, 6, 24);
    n += tcp_answer(pkt + n, 4, 0x14);
    emit("tcp4_rstack", FUZZ_SEL_TCP4, pkt, n);
    n = tcp_answer(pkt, 6, 0x12);
    emit("tcp6_synack", FUZZ_SEL_TCP6, pkt, n);

    /* Round-trip parameters: token, nonce, ISN, in that order. */
    static const uint8_t rt[] = { 0x00, 0x03, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xa5, 0xb0, 0x00, 0x00 };
    emit("roundtrip_v4", FUZZ_SEL_ROUNDTRIP, rt, sizeof(rt));
    uint8_t rt6[sizeof(rt)];
    memcpy(rt6, rt, sizeof(rt));
    rt6[0] |= 0x80;
    emit("roundtrip_v6", FUZZ_SEL_ROUNDTRIP, rt6, sizeof(rt6));
    return 0;
}

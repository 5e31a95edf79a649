/*
 * fuzz_common.h — fixture identities shared by the fuzz target and the seed generator.
 *
 * Input format of parse_fuzz: byte 0 selects the parser (FUZZ_SEL_*), the rest is the packet.
 */
#ifndef CPROBE_FUZZ_COMMON_H
#define CPROBE_FUZZ_COMMON_H

#include <stdint.h>

#include "cprobe_packet.h"

enum {
    FUZZ_SEL_ICMP4_RAW = 0,    /* cprobe_parse_icmp4, has_ip_header = 1 */
    FUZZ_SEL_ICMP4_DGRAM = 1,  /* cprobe_parse_icmp4, has_ip_header = 0, src given */
    FUZZ_SEL_ICMP6 = 2,        /* cprobe_parse_icmp6, verify_checksum = 0, raw socket */
    FUZZ_SEL_ICMP6_VERIFY = 3, /* cprobe_parse_icmp6, verify_checksum = 1, src + dst,
                                * datagram socket (kernel_ident = 1) */
    FUZZ_SEL_TCP4 = 4,
    FUZZ_SEL_TCP6 = 5,
    FUZZ_SEL_ALL = 6,          /* the same bytes through every parser */
    FUZZ_SEL_ROUNDTRIP = 7,    /* bytes are builder parameters: build, answer, parse back */
    FUZZ_SEL_COUNT = 8,
};

static const cprobe_ours fuzz_ours = { .sport_base = 40000 };
static const uint8_t fuzz_us4[4] = { 192, 0, 2, 10 };
static const uint8_t fuzz_peer4[4] = { 198, 51, 100, 7 };
static const uint8_t fuzz_router4[4] = { 203, 0, 113, 1 };
static const uint8_t fuzz_us6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a };
static const uint8_t fuzz_peer6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07 };
static const uint8_t fuzz_router6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };

#endif

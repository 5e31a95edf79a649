/*
 * cprobe_packet.h — building probe packets and classifying what comes back. Pure functions:
 * no sockets, no clock, no allocation, so the unit tests and the fuzz target call them directly.
 *
 * Identity of a probe on the wire
 *   slot   index of the probe in the engine's in-flight table (< 2^20)
 *   nonce  32 random bits drawn per send, stored in the slot
 *   ICMP:  identifier = ident_base + (slot >> 16), sequence = slot & 0xffff,
 *          payload = magic "PRB1" | slot | nonce | 0 | send time (ns, 8 bytes) = 24 bytes.
 *          An ICMP error quotes our header (+ payload on Linux), so it maps back to a slot too.
 *   TCP SYN: source port = sport_base + (slot & 0x3ff), initial sequence number
 *          = (random & 0xfff00000) | slot. SYN-ACK and RST carry ack = ISN + 1; an ICMP
 *          error quotes the SYN's ports and sequence number.
 * The parser only extracts these fields and says whether the packet is ours in shape; the
 * engine decides whether a probe with that slot and nonce is really in flight.
 */
#ifndef CPROBE_PACKET_H
#define CPROBE_PACKET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CPROBE_MAGIC 0x50524231u /* "PRB1", network order on the wire */
#define CPROBE_ECHO_PAYLOAD_LEN 24
#define CPROBE_ECHO_LEN (8 + CPROBE_ECHO_PAYLOAD_LEN)
#define CPROBE_TCP_SYN_LEN 24 /* 20-byte header + MSS option */
#define CPROBE_SLOT_BITS 20
#define CPROBE_TCP_PORT_SPAN 1024

/* What a received packet is. */
enum {
    CPROBE_PKT_ECHO_REPLY = 1,
    CPROBE_PKT_ICMP_ERROR = 2, /* destination unreachable / time exceeded / packet too big ... */
    CPROBE_PKT_TCP_SYNACK = 3,
    CPROBE_PKT_TCP_RST = 4,
};

/* Parser verdicts. */
enum {
    CPROBE_PARSE_OK = 0,
    CPROBE_PARSE_FOREIGN = 1,   /* well-formed but not one of ours (type, identifier, magic, port) */
    CPROBE_PARSE_TRUNCATED = 2, /* shorter than its headers claim */
    CPROBE_PARSE_BAD_CHECKSUM = 3,
    CPROBE_PARSE_MALFORMED = 4, /* impossible header values */
};

typedef struct cprobe_parsed {
    uint8_t kind;       /* CPROBE_PKT_* */
    uint8_t family;     /* 4 or 6 */
    uint8_t icmp_type;  /* for ICMP errors: outer type / code */
    uint8_t icmp_code;
    uint8_t has_nonce;  /* nonce known (echo payload, quoted payload, or TCP ack) */
    uint8_t probe_kind; /* CPROBE_KIND_ICMP or CPROBE_KIND_TCP_SYN: what kind of probe it answers */
    uint8_t pad[2];
    uint16_t ident;     /* ICMP identifier, or for TCP our source port */
    uint16_t seq;
    uint32_t slot;
    uint32_t nonce;     /* ICMP: payload nonce; TCP: our initial sequence number (ack - 1) */
    uint8_t peer[16];   /* the probed address the packet speaks of (reply source / quoted dst) */
    uint8_t reporter[16]; /* for ICMP errors: the router that sent it */
    uint16_t tcp_port;  /* for TCP: the probed port (reply's source port) */
    uint16_t pad2;
} cprobe_parsed;

/* Internet checksum (RFC 1071) over len bytes, folded; `sum` is a running partial sum. */
uint16_t cprobe_checksum(const void *data, size_t len, uint32_t sum);

/* Echo request for slot/nonce. ICMPv4 gets its checksum here; ICMPv6's is the kernel's. */
size_t cprobe_build_echo(uint8_t *buf, size_t cap, int family, uint16_t ident, uint16_t seq,
                         uint32_t slot, uint32_t nonce, uint64_t send_ns);

/* TCP SYN with checksum over the pseudo-header (src/dst: 4 or 16 bytes by family). */
size_t cprobe_build_tcp_syn(uint8_t *buf, size_t cap, int family, const uint8_t *src,
                            const uint8_t *dst, uint16_t sport, uint16_t dport, uint32_t isn);

/*
 * ICMPv4 as read from a raw socket (pkt starts at the IPv4 header) when has_ip_header,
 * or from an ICMP datagram socket (pkt starts at the ICMP header; src = sender address).
 * ICMP errors that quote one of our echo requests or TCP SYNs are ours too.
 * Datagram sockets: the kernel picks the identifier, so ours->ident_base is that one.
 */
typedef struct cprobe_ours {
    uint16_t ident_base;  /* our ICMP identifiers: [ident_base, ident_base + ident_count) */
    uint16_t ident_count;
    uint16_t sport_base;  /* our TCP source ports: [sport_base, sport_base + CPROBE_TCP_PORT_SPAN) */
    uint16_t pad;
} cprobe_ours;

int cprobe_parse_icmp4(const uint8_t *pkt, size_t len, int has_ip_header, const uint8_t src[4],
                       const cprobe_ours *ours, cprobe_parsed *out);

/* ICMPv6 (pkt starts at the ICMPv6 header on both raw and datagram sockets; src from msg_name).
 * verify_checksum: compute it over the pseudo-header (needs dst); raw ICMPv6 sockets already
 * have the kernel's check, so the engine passes 0 there. */
int cprobe_parse_icmp6(const uint8_t *pkt, size_t len, const uint8_t src[16],
                       const uint8_t dst[16], int verify_checksum, const cprobe_ours *ours,
                       cprobe_parsed *out);

/* TCP segment on a raw socket: IPv4 (pkt starts at the IPv4 header) or IPv6 (pkt starts at
 * the TCP header, src/dst from the packet info). Ours when the destination port is in
 * [sport_base, sport_base + CPROBE_TCP_PORT_SPAN) and it is a SYN-ACK or RST. */
int cprobe_parse_tcp4(const uint8_t *pkt, size_t len, const cprobe_ours *ours, cprobe_parsed *out);
int cprobe_parse_tcp6(const uint8_t *pkt, size_t len, const uint8_t src[16],
                      const uint8_t dst[16], const cprobe_ours *ours, cprobe_parsed *out);

#ifdef __cplusplus
}
#endif
#endif

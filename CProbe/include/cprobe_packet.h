/*
 * cprobe_packet.h — building probe packets, classifying what comes back, and the keyed
 * identities probes carry. Pure functions: no sockets, no clock, no allocation, so the unit
 * tests and the fuzz target call them directly.
 *
 * Identity of a probe on the wire (identity.c derives it, match.c checks it)
 *   token  32 bits, one per send, from SipHash-2-4 under the engine's secret key: uniform and
 *          unpredictable to anyone who does not hold the key, whatever probes they watch
 *   nonce  32 more keyed bits per echo request, in its payload
 *   ICMP echo, raw socket: identifier = token >> 16, sequence = token & 0xffff,
 *          payload = magic "PRB1" | token | nonce | engine tag | send time (ns, 8 bytes) = 24
 *          bytes. The tag (random, one per engine) only lets the kernel filter pass an engine
 *          the replies to its own probes and not another engine's (sockets.c); it proves nothing.
 *   ICMP echo, datagram ("ping") socket: the kernel owns the identifier; sequence =
 *          token & 0xffff, same payload.
 *   TCP SYN: source port = sport_base + 10 keyed bits, initial sequence number = token.
 *          SYN-ACK and RST carry ack = token + 1.
 *   An ICMP error quotes at least the first 8 bytes of the probe: the echo's identifier and
 *   sequence (the token) or the SYN's ports and sequence number; Linux routers quote the
 *   whole probe, payload (and so the nonce) included.
 * The parser only extracts these fields and says whether the packet is ours in shape (our
 * magic, our port range, header and payload agreeing); the engine decides whether a probe
 * with that token, address, ports and nonce is really in flight.
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
#define CPROBE_SLOT_BITS 20       /* the in-flight table holds at most 2^20 probes */
#define CPROBE_TCP_PORT_SPAN 1024 /* keyed TCP source ports: [sport_base, sport_base + 1024) */

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
    uint8_t has_nonce;  /* payload nonce known (echo reply, or an error quoting the payload) */
    uint8_t probe_kind; /* CPROBE_KIND_ICMP or CPROBE_KIND_TCP_SYN: what kind of probe it answers */
    uint8_t pad[2];
    uint16_t ident;     /* ICMP identifier, or for TCP our source port */
    uint16_t seq;
    uint32_t token;     /* the probe's keyed identity: ICMP identifier:sequence (payload copy on
                         * datagram sockets); TCP: our initial sequence number (ack - 1) */
    uint32_t nonce;     /* ICMP payload nonce, when has_nonce */
    uint8_t peer[16];   /* the probed address the packet speaks of (reply source / quoted dst) */
    uint8_t reporter[16]; /* for ICMP errors: the router that sent it */
    uint16_t tcp_port;  /* for TCP: the probed port (reply's source port) */
    uint16_t pad2;
    uint32_t mtu;       /* ICMPv4 fragmentation needed (type 3 code 4) / ICMPv6 packet too big
                         * (type 2): the next-hop MTU the router reported; else 0 */
} cprobe_parsed;

/* Internet checksum (RFC 1071) over len bytes, folded; `sum` is a running partial sum. */
uint16_t cprobe_checksum(const void *data, size_t len, uint32_t sum);

/* Echo request carrying token, nonce and engine tag. ICMPv4 gets its checksum here; ICMPv6's
 * is the kernel's. */
size_t cprobe_build_echo(uint8_t *buf, size_t cap, int family, uint16_t ident, uint16_t seq,
                         uint32_t token, uint32_t nonce, uint32_t tag, uint64_t send_ns);

/* Sets the 16-bit word at buf[at] so that the one's-complement sum of the len-byte ICMP
 * message (its checksum field taken as zero) is `target` (1..0xfffe): then its checksum is the
 * same for every probe with that target — ICMPv4's ~target (rewritten here), ICMPv6's a
 * function of target and the addresses only (the kernel computes it). Paris traceroute's
 * constant flow for ICMP. Returns 0, or -1 when `at` is not inside the message. */
int cprobe_echo_fix_sum(uint8_t *buf, size_t len, size_t at, uint16_t target, int family);

/* TCP SYN with checksum over the pseudo-header (src/dst: 4 or 16 bytes by family). */
size_t cprobe_build_tcp_syn(uint8_t *buf, size_t cap, int family, const uint8_t *src,
                            const uint8_t *dst, uint16_t sport, uint16_t dport, uint32_t isn);

/*
 * ICMPv4 as read from a raw socket (pkt starts at the IPv4 header) when has_ip_header, or
 * from an ICMP datagram socket (pkt starts at the ICMP header; src = sender address), whose
 * identifier is the kernel's: there only the sequence must agree with the payload's token.
 * ICMP errors that quote one of our echo requests or TCP SYNs are ours too.
 */
typedef struct cprobe_ours {
    uint16_t sport_base;  /* our TCP source ports: [sport_base, sport_base + CPROBE_TCP_PORT_SPAN) */
    uint16_t pad;
} cprobe_ours;

int cprobe_parse_icmp4(const uint8_t *pkt, size_t len, int has_ip_header, const uint8_t src[4],
                       const cprobe_ours *ours, cprobe_parsed *out);

/* ICMPv6 (pkt starts at the ICMPv6 header on both raw and datagram sockets; src from msg_name).
 * kernel_ident: a datagram socket (the identifier is the kernel's, as for ICMPv4 above).
 * verify_checksum: compute it over the pseudo-header (needs dst); raw ICMPv6 sockets already
 * have the kernel's check, so the engine passes 0 there. */
int cprobe_parse_icmp6(const uint8_t *pkt, size_t len, const uint8_t src[16],
                       const uint8_t dst[16], int verify_checksum, int kernel_ident,
                       const cprobe_ours *ours, cprobe_parsed *out);

/* TCP segment on a raw socket: IPv4 (pkt starts at the IPv4 header) or IPv6 (pkt starts at
 * the TCP header, src/dst from the packet info). Ours when the destination port is in
 * [sport_base, sport_base + CPROBE_TCP_PORT_SPAN) and it is a SYN-ACK or RST. */
int cprobe_parse_tcp4(const uint8_t *pkt, size_t len, const cprobe_ours *ours, cprobe_parsed *out);
int cprobe_parse_tcp6(const uint8_t *pkt, size_t len, const uint8_t src[16],
                      const uint8_t dst[16], const cprobe_ours *ours, cprobe_parsed *out);

/* The keyed identity of one send (identity.c). */
typedef struct cprobe_identity {
    uint32_t token;       /* ICMP identifier:sequence, or TCP initial sequence number */
    uint32_t nonce;       /* echo payload nonce */
    uint16_t port_offset; /* TCP source port - sport_base, < CPROBE_TCP_PORT_SPAN */
    uint16_t pad;
} cprobe_identity;

/* SipHash-2-4 of len bytes under a 16-byte key (the key is two little-endian words). */
uint64_t cprobe_siphash24(const uint8_t key[16], const void *msg, size_t len);

/* The identity an engine holding `key` gives its send number `counter`, made into slot `slot`
 * for a probe of `kind`: SipHash-2-4 over counter (8 bytes LE) | slot (4 bytes LE) | kind |
 * 3 zero bytes; token = low 32 bits, nonce = high 32 bits, port_offset = nonce's low 10 bits
 * (a SYN carries no nonce). The engine calls exactly this; tests call it to study it. */
void cprobe_identity_derive(const uint8_t key[16], uint64_t counter, uint32_t slot, uint8_t kind,
                            cprobe_identity *out);

#ifdef __cplusplus
}
#endif
#endif

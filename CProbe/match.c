/*
 * match.c — whether a parsed packet answers a probe in flight, and if not, why not.
 *
 * The parser (packet.c) only says a packet is ours in shape and extracts its identity. Here
 * the token is looked up (identity.c), then every other field the packet states about the
 * probe must agree with what the slot sent:
 *   ICMP error    quoted token names a probe in flight, quoted destination is the probe's,
 *                 and when the quote reaches the payload, its nonce too (an 8-byte quote
 *                 carries only the token: RFC 792 asks routers for no more)
 *   echo reply    token, source address = the probe's target, payload nonce
 *   SYN-ACK / RST ack - 1 = the ISN (token), source = the probe's target, both ports
 *   quoted SYN    ISN, quoted destination, both ports
 * Anything else is refused and counted by the first check it fails (cprobe_stats.refused).
 */
#include <string.h>

#include "internal.h"

static int identity_refusal(const cprobe_parsed *p)
{
    if (p->kind == CPROBE_PKT_ICMP_ERROR)
        return CPROBE_REFUSAL_QUOTE_IDENTITY;
    return p->probe_kind == CPROBE_KIND_TCP_SYN ? CPROBE_REFUSAL_TCP_ACK : CPROBE_REFUSAL_NO_PROBE;
}

struct slot *slot_match(struct cprobe_engine *e, const cprobe_parsed *p, int *refusal)
{
    int is_error = p->kind == CPROBE_PKT_ICMP_ERROR;
    struct slot *s = slot_by_token(e, p->token);
    if (!s || s->kind != p->probe_kind || s->family != p->family) {
        *refusal = identity_refusal(p);
        return NULL;
    }
    if (memcmp(s->addr, p->peer, p->family == 4 ? 4 : 16) != 0) {
        *refusal = is_error ? CPROBE_REFUSAL_QUOTE_DST : CPROBE_REFUSAL_PEER;
        return NULL;
    }
    if (p->probe_kind == CPROBE_KIND_TCP_SYN) {
        if (p->ident != s->sport || p->tcp_port != s->port) {
            *refusal = CPROBE_REFUSAL_TCP_PORT;
            return NULL;
        }
        return s;
    }
    /* Replies always carry the nonce (the parser insists); errors when the quote is long enough. */
    if (p->has_nonce ? p->nonce != s->nonce : !is_error) {
        *refusal = CPROBE_REFUSAL_NONCE;
        return NULL;
    }
    return s;
}

/*
 * identity.c — who a probe is on the wire: keyed identities a third party cannot forge.
 *
 * Every ICMP echo request and TCP SYN carries a 32-bit token (ICMP identifier:sequence, or
 * the TCP initial sequence number); an echo request also carries a 32-bit nonce in its
 * payload, a SYN 10 keyed bits in its source port. All of them are bits of one SipHash-2-4
 * output, keyed with 128 bits from getrandom() drawn when the engine starts, over a send
 * counter that never repeats (plus the slot and kind). To anyone without the key, each probe's
 * identity is uniform and independent of every other probe's: watching the probes to one
 * target says nothing about those to another. So a forged answer for a probe it cannot see
 * must guess 32 bits (an ICMP error quoting only 8 bytes of the probe), 64 (an echo reply, or
 * an error quoting the payload too) or 42 (a TCP answer, or an error quoting a SYN), on top
 * of naming the right destination — matching is in match.c.
 *
 * Why SipHash, written out here: it is a keyed pseudo-random function made for short inputs
 * (16 bytes here: two rounds for each of three words, four to finish, ~16 ns), with
 * published test vectors (Tests/CProbeTests/IdentityTests.swift checks them), and small
 * enough to carry: glibc has no keyed hash, and libsodium or OpenSSL would be new
 * dependencies for forty lines. A fast predictable generator (the xorshift64* that
 * was here before) gives its whole state away in three 32-bit outputs (two leave four
 * candidates): IdentityTests runs that attack.
 *
 * Finding the slot of a reply
 *   A random token cannot carry the slot index, so token_index maps tokens to slots: a
 *   direct-mapped table of 2 x max_in_flight entries indexed by the token's low bits. A send
 *   draws identities (the counter advances each time) until its token falls on an empty
 *   entry. At most half the entries are ever taken, so a draw succeeds with probability
 *   >= 1/2: two draws on average, and IDENTITY_DRAWS failures in a row (2^-64) do not happen.
 *   A lookup is one load and one compare; the entry is cleared when the probe finishes.
 *   Cost: 4 bytes x 2 x max_in_flight (512 KiB at the default 65,536).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "internal.h"

#define IDENTITY_DRAWS 64

static inline uint64_t rotl(uint64_t x, int b) { return x << b | x >> (64 - b); }

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* SipHash-2-4 (Aumasson & Bernstein, 2012): 2 rounds per 8-byte word, 4 to finish. */
struct sip {
    uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip *s)
{
    s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0; s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
    s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
    s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2; s->v2 = rotl(s->v2, 32);
}

static inline struct sip sip_init(uint64_t k0, uint64_t k1)
{
    return (struct sip){ k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                         k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull };
}

static inline void sip_word(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

/* `last`: the message's remaining bytes, its length in the top byte. */
static inline uint64_t sip_finish(struct sip *s, uint64_t last)
{
    sip_word(s, last);
    s->v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t cprobe_siphash24(const uint8_t key[16], const void *msg, size_t len)
{
    const uint8_t *p = msg;
    struct sip s = sip_init(load_le64(key), load_le64(key + 8));
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8)
        sip_word(&s, load_le64(p + i));
    uint64_t last = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        last |= (uint64_t)p[whole + i] << (8 * i);
    return sip_finish(&s, last);
}

/* The identity of send `counter` in `slot` for a probe of `kind`: SipHash-2-4 of the 16-byte
 * message counter (8 bytes LE) | slot (4 bytes LE) | kind | 3 zero bytes, taken as two words.
 * The counter alone makes every input distinct; slot and kind are there so an identity names
 * where it was made. The destination need not be: match.c compares it anyway. */
static inline void derive(const uint64_t key[2], uint64_t counter, uint32_t slot, uint8_t kind,
                          cprobe_identity *out)
{
    struct sip s = sip_init(key[0], key[1]);
    sip_word(&s, counter);
    sip_word(&s, slot | (uint64_t)kind << 32);
    uint64_t h = sip_finish(&s, 16ull << 56);
    out->token = (uint32_t)h;
    out->nonce = (uint32_t)(h >> 32);
    out->port_offset = (uint16_t)((h >> 32) & (CPROBE_TCP_PORT_SPAN - 1));
    out->pad = 0;
}

void cprobe_identity_derive(const uint8_t key[16], uint64_t counter, uint32_t slot, uint8_t kind,
                            cprobe_identity *out)
{
    const uint64_t words[2] = { load_le64(key), load_le64(key + 8) };
    derive(words, counter, slot, kind, out);
}

int identity_init(struct cprobe_engine *e)
{
    /* getrandom() blocks only until the kernel's pool is first seeded (early boot). No
     * fallback: a guessable key would undo everything above. */
    ssize_t n;
    do
        n = getrandom(e->key, sizeof(e->key), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(e->key))
        return n < 0 ? -errno : -EIO;
    e->key_words[0] = load_le64(e->key);
    e->key_words[1] = load_le64(e->key + 8);
    uint32_t entries = e->max_in_flight * 2;
    e->token_mask = entries - 1;
    e->token_index = malloc((size_t)entries * sizeof(uint32_t));
    if (!e->token_index)
        return -ENOMEM;
    memset(e->token_index, 0xff, (size_t)entries * sizeof(uint32_t)); /* NO_SLOT everywhere */
    return 0;
}

int identity_draw(struct cprobe_engine *e, uint32_t idx)
{
    struct slot *s = &e->slots[idx];
    for (int i = 0; i < IDENTITY_DRAWS; i++) {
        cprobe_identity id;
        derive(e->key_words, e->sends++, idx, s->kind, &id);
        if (s->req_flags & CPROBE_REQ_FLOW) { /* Paris: the flow's fields fixed, the rest keyed */
            if (s->kind == CPROBE_KIND_ICMP)
                id.token = (uint32_t)s->flow << 16 | (id.token & 0xffff);
            id.port_offset = (uint16_t)(s->flow % CPROBE_TCP_PORT_SPAN);
        }
        uint32_t *entry = &e->token_index[id.token & e->token_mask];
        if (*entry != NO_SLOT)
            continue; /* another probe in flight owns that entry: draw again */
        *entry = idx;
        s->indexed = 1;
        s->token = id.token;
        s->nonce = id.nonce;
        s->sport = (uint16_t)(e->ours.sport_base + id.port_offset);
        return 0;
    }
    return -EBUSY;
}

void identity_forget(struct cprobe_engine *e, uint32_t idx)
{
    struct slot *s = &e->slots[idx];
    if (!s->indexed)
        return;
    s->indexed = 0;
    uint32_t *entry = &e->token_index[s->token & e->token_mask];
    if (*entry == idx)
        *entry = NO_SLOT;
}

struct slot *slot_by_token(struct cprobe_engine *e, uint32_t token)
{
    uint32_t idx = e->token_index[token & e->token_mask];
    if (idx == NO_SLOT)
        return NULL;
    struct slot *s = &e->slots[idx];
    return s->token == token && s->state == SLOT_IN_FLIGHT ? s : NULL;
}

/*
 * cprobe.h — the ProbeAgent probe engine: batched ICMP / TCP probing over io_uring.
 *
 * Model
 *   A caller submits batches of probe requests; the engine sends them through one shared
 *   socket per (family, protocol) and returns exactly one result per accepted request:
 *   a reply, a timeout at the request's deadline, a refusal, an ICMP unreachable, or an error.
 *
 * Threading
 *   An engine is owned by one thread at a time and is not thread-safe, except for
 *   cprobe_engine_wake(), which any thread may call to interrupt a blocking cprobe_poll().
 *   cprobe_poll() blocks in io_uring_enter(); never call it from Swift's cooperative pool —
 *   the Swift wrapper (ProbeEngine) runs it on a dedicated thread.
 *
 * Memory
 *   All per-probe state lives in a fixed in-flight table sized at creation (power of two).
 *   Nothing is allocated on the submit / poll path. When the table or the ring is full,
 *   cprobe_submit() accepts fewer requests than offered: that is back-pressure, and the
 *   caller keeps the rest; nothing is dropped silently.
 *
 * Privileges
 *   Raw sockets need CAP_NET_RAW. cprobe_engine_create() raises it (libcap) only around
 *   socket(), then drops every capability of the process. Without it, ICMP falls back to
 *   the unprivileged ICMP datagram socket (net.ipv4.ping_group_range), TCP SYN probes are
 *   unavailable (requests fail with CPROBE_ERR_NOPERM), and TCP connect probes work as is.
 *
 * Errors are negative errno values; cprobe_strerror_hint() turns the ones a user can fix
 * into an actionable sentence.
 */
#ifndef CPROBE_H
#define CPROBE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Probe kinds. */
enum {
    CPROBE_KIND_ICMP = 1,        /* ICMP / ICMPv6 echo */
    CPROBE_KIND_TCP_SYN = 2,     /* half-open SYN on a raw socket */
    CPROBE_KIND_TCP_CONNECT = 3, /* full connect via IORING_OP_CONNECT, closed with RST */
};

/* Result status. */
enum {
    CPROBE_OK = 0,          /* echo reply / SYN-ACK / connected */
    CPROBE_TIMEOUT = 1,     /* no answer before the deadline */
    CPROBE_REFUSED = 2,     /* TCP RST */
    CPROBE_UNREACHABLE = 3, /* ICMP error quoting the probe (icmp_type/code, reporter set; mtu
                             * for fragmentation needed / packet too big): the caller tells
                             * time exceeded, fragmentation needed and unreachable apart */
    CPROBE_ERROR = 4,       /* local failure, error = errno */
};

/* Where an RTT came from (bit set). Both kernel bits set = pure kernel timestamps. */
enum {
    CPROBE_CLOCK_TX_KERNEL = 1, /* send time from SO_TIMESTAMPING (error queue) */
    CPROBE_CLOCK_RX_KERNEL = 2, /* receive time from the reply's SCM_TIMESTAMPING */
};

/* Engine-specific errors beyond errno (still negative). */
#define CPROBE_ERR_NOPERM (-1001)   /* probe kind needs CAP_NET_RAW, which we do not have */
#define CPROBE_ERR_NOSOCKET (-1002) /* no socket for this family could be opened */

typedef struct cprobe_request {
    uint64_t cookie;     /* caller's id, echoed in the result */
    uint8_t addr[16];    /* IPv4 in the first 4 bytes, or IPv6 */
    uint8_t family;      /* 4 or 6 */
    uint8_t kind;        /* CPROBE_KIND_* */
    uint16_t port;       /* TCP destination port (host order); ignored for ICMP */
    uint32_t timeout_ms; /* per-probe deadline, from submission; 1..600000 */
    uint64_t due_ns;     /* CLOCK_MONOTONIC time the probe was due; 0: none (no send_delay_ns) */
    /* Packet options; all zero is the default probe (the fast path: no control message). */
    uint8_t ttl;         /* IPv4 TTL / IPv6 hop limit; 0: the kernel's default */
    uint8_t tos;         /* IPv4 TOS / IPv6 traffic class byte (DSCP << 2 | ECN); 0: none */
    uint8_t flags;       /* CPROBE_REQ_* */
    uint8_t pad;
    uint16_t size;       /* ICMP echo payload bytes, CPROBE_MIN_PAYLOAD..CPROBE_MAX_PAYLOAD; 0: the
                          * minimum. TCP probes carry none (must be 0). */
    uint16_t flow;       /* with CPROBE_REQ_FLOW: the flow identifier (Paris traceroute) */
    uint32_t ifindex;    /* leave by this interface (IP_PKTINFO / IPV6_PKTINFO); 0: the route's */
    uint8_t src[16];     /* with CPROBE_REQ_SOURCE: the source address, of the request's family */
} cprobe_request;

enum {
    /* ICMP only, raw sockets only: set DF (IPv4) / do not fragment locally (IPv6) and ignore
     * the cached path MTU, so a probe over a link's MTU always draws "fragmentation needed" /
     * "packet too big" (sent from a socket of its own: IP_PMTUDISC_PROBE, see sockets.c). */
    CPROBE_REQ_DONT_FRAGMENT = 1,
    /* Keep the header fields per-flow load balancers hash constant for every probe with the
     * same `flow` (Paris traceroute): ICMP identifier = flow and the ICMP checksum fixed (a
     * compensation word in the payload); TCP SYN source port = our base + flow % 1024. The
     * sequence (ICMP) and ISN (TCP) stay keyed per probe; echoes keep their 32-bit nonce. */
    CPROBE_REQ_FLOW = 2,
    /* Send from `src` (one of this host's addresses): ICMP and TCP SYN. */
    CPROBE_REQ_SOURCE = 4,
};

#define CPROBE_MIN_PAYLOAD 24   /* our echo payload: magic, token, nonce, tag, send time */
#define CPROBE_MAX_PAYLOAD 1600 /* a reply must fit one receive buffer (recv.c) */

/* send_delay_ns when there is none: no due_ns given, or the probe was never sent. */
#define CPROBE_NO_SEND_DELAY UINT64_MAX

typedef struct cprobe_result {
    uint64_t cookie;
    uint64_t rtt_ns;     /* valid for OK, REFUSED, UNREACHABLE */
    uint64_t sent_ns;    /* CLOCK_REALTIME of the send, ns since the epoch */
    uint64_t send_delay_ns; /* the send (kernel TX stamp, else the user clock) minus due_ns, or
                             * CPROBE_NO_SEND_DELAY: the caller's lateness plus the engine's batching */
    int32_t error;       /* errno (positive) for CPROBE_ERROR, else 0 */
    uint8_t status;      /* CPROBE_OK ... */
    uint8_t kind;
    uint8_t clock;       /* CPROBE_CLOCK_* bits */
    uint8_t icmp_type;   /* for UNREACHABLE */
    uint8_t icmp_code;
    uint8_t reporter_family; /* 0, 4 or 6: who sent the ICMP error */
    uint16_t seq;        /* ICMP sequence number used (for display) */
    uint8_t reporter[16];
    uint32_t mtu;        /* next-hop MTU of an ICMP fragmentation needed / ICMPv6 packet too big,
                          * else 0 */
} cprobe_result;

typedef struct cprobe_config {
    uint32_t max_in_flight; /* rounded up to a power of two; default 65536, max 1<<20 */
    uint32_t ring_entries;  /* SQ size; default 4096 */
    uint32_t flags;         /* CPROBE_CFG_* */
} cprobe_config;

enum {
    CPROBE_CFG_NO_RAW = 1,       /* do not try raw sockets even with CAP_NET_RAW (tests) */
    CPROBE_CFG_KEEP_CAPS = 2,    /* do not drop capabilities after opening sockets */
    CPROBE_CFG_NO_TIMESTAMPS = 4 /* user-space clock only (for measurement) */
};

/* Why a packet that is ours in shape was not attributed to a probe (cprobe_stats.refused):
 * the first check it failed (match.c). Late and duplicate answers land here too. */
enum {
    CPROBE_REFUSAL_NO_PROBE = 0,        /* echo reply whose identity names no probe in flight */
    CPROBE_REFUSAL_QUOTE_IDENTITY = 1,  /* ICMP error quoting an identity of no probe in flight */
    CPROBE_REFUSAL_QUOTE_DST = 2,       /* ICMP error quoting a probe's identity, another destination */
    CPROBE_REFUSAL_PEER = 3,            /* echo reply / TCP answer from an address not the probe's */
    CPROBE_REFUSAL_NONCE = 4,           /* payload nonce (reply, or a quote that reaches it) differs */
    CPROBE_REFUSAL_TCP_ACK = 5,         /* SYN-ACK / RST whose ack names no SYN in flight */
    CPROBE_REFUSAL_TCP_PORT = 6,        /* TCP answer or quoted SYN: right ISN, other ports */
    CPROBE_REFUSAL_COUNT = 7,
};

/* Counters; monotonically increasing except in_flight. */
typedef struct cprobe_stats {
    uint64_t submitted;
    uint64_t completed;
    uint64_t in_flight;
    uint64_t send_errors;
    uint64_t replies_matched;
    uint64_t unmatched_foreign;   /* not ours: no magic, header/payload tokens differ, other port */
    uint64_t unmatched_stale;     /* ours in shape, but refused: the sum of refused[] */
    uint64_t unmatched_malformed; /* truncated, bad checksum, bad header */
    uint64_t backpressure;        /* requests refused because table or ring was full */
    uint64_t tx_timestamps;       /* kernel TX stamps read from the error queue */
    uint64_t user_clock_results;  /* results whose RTT used the user-space clock */
    uint64_t refused[CPROBE_REFUSAL_COUNT]; /* by CPROBE_REFUSAL_* */
} cprobe_stats;

/* What the engine could open; filled by cprobe_engine_info(). */
typedef struct cprobe_info {
    uint8_t icmp4_raw, icmp6_raw;   /* 1 when raw ICMP sockets are open */
    uint8_t icmp4_dgram, icmp6_dgram; /* 1 when the unprivileged fallback is in use */
    uint8_t tcp4_raw, tcp6_raw;
    uint8_t had_cap_net_raw;         /* CAP_NET_RAW was available at creation */
    uint8_t caps_dropped;            /* every capability was dropped after opening */
    uint8_t icmp4_df, icmp6_df;      /* 1 when the don't-fragment ICMP sockets are open */
    uint32_t max_in_flight;
} cprobe_info;

typedef struct cprobe_engine cprobe_engine;

/* Create an engine. On failure returns a negative errno and writes a sentence into errbuf. */
int cprobe_engine_create(const cprobe_config *cfg, cprobe_engine **out, char *errbuf, size_t errlen);
void cprobe_engine_destroy(cprobe_engine *e);

/*
 * Queue up to n requests and submit them to the kernel in one io_uring_enter().
 * Returns how many were accepted (a prefix of reqs; < n is back-pressure), or a negative errno.
 * A request the engine cannot send (bad family, kind without privilege) is still accepted
 * and completes as CPROBE_ERROR on the next poll.
 */
int cprobe_submit(cprobe_engine *e, const cprobe_request *reqs, size_t n);

/*
 * Reap completions, expire deadlines and write finished results into out (at most cap).
 * Blocks up to timeout_ms (0 = do not block, <0 = until something completes or a wake)
 * when nothing is ready. Returns the number of results written, or a negative errno.
 */
int cprobe_poll(cprobe_engine *e, cprobe_result *out, size_t cap, int timeout_ms);

/* Interrupt a blocking cprobe_poll() from any thread. */
void cprobe_engine_wake(cprobe_engine *e);

void cprobe_engine_stats(const cprobe_engine *e, cprobe_stats *out);
void cprobe_engine_info(const cprobe_engine *e, cprobe_info *out);
uint32_t cprobe_engine_in_flight(const cprobe_engine *e);
/* The caller kept n requests back because the in-flight table was full (it offers
 * cprobe_submit only what fits): counted as back-pressure, as if refused. */
void cprobe_engine_kept_back(cprobe_engine *e, size_t n);

/* Capability helpers (libcap). */
int cprobe_have_cap_net_raw(void);   /* 1 if CAP_NET_RAW is permitted, 0 otherwise */
int cprobe_caps_all_dropped(void);   /* 1 if effective, permitted and ambient sets are empty */

/* Host checks for `agentctl doctor` (host_checks.c). */
/* 0 when io_uring works as the engine needs it (ring, buffer ring, multishot recvmsg); else a
   negative errno and a sentence naming the failed step in errbuf. */
int cprobe_probe_io_uring(char *errbuf, size_t errlen);
/* 1 if the file's capabilities permit CAP_NET_RAW, 0 if not (or none), negative errno on error. */
int cprobe_file_has_cap_net_raw(const char *path);
/* 1 if CAP_NET_RAW is in the bounding set (it can be gained at all), 0 otherwise. */
int cprobe_cap_net_raw_in_bounding_set(void);

/* The calling thread (thread_attrs.c); each returns 0 or a negative errno. */
/* Names it as ps -L, top -H and perf show it (truncated to 15 bytes). */
int cprobe_name_thread(const char *name);
/* Asks for a scheduling slice of `nanoseconds` (Linux 6.12+; older kernels ignore it). */
int cprobe_set_thread_slice(uint64_t nanoseconds);
/* Moves it to SCHED_RR at `priority` (1..99); with `reset_on_fork`, threads it starts later
 * begin at SCHED_OTHER, else they inherit the policy. Needs CAP_SYS_NICE, or RLIMIT_RTPRIO >=
 * priority for a thread not yet real-time. */
int cprobe_set_thread_realtime(int priority, int reset_on_fork);
/* Moves it back to SCHED_OTHER (no privilege needed). */
int cprobe_set_thread_normal(void);
/* Its SCHED_RR / SCHED_FIFO priority, or 0 when it is not real-time. */
int cprobe_thread_realtime_priority(void);

/* Human names. */
const char *cprobe_status_name(uint8_t status);
const char *cprobe_kind_name(uint8_t kind);
/* "no_probe", "quote_identity_mismatch", ... for CPROBE_REFUSAL_*; NULL past the last. */
const char *cprobe_refusal_name(int reason);
/* A sentence telling the user how to fix err (negative errno / CPROBE_ERR_*), or NULL. */
const char *cprobe_strerror_hint(int err);

#ifdef __cplusplus
}
#endif
#endif

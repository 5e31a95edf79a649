/*
 * internal.h — the engine's private state. Not part of the public API; liburing stays here.
 *
 * In-flight table
 *   `slots` is a fixed array of max_in_flight entries (power of two). A probe owns one slot
 *   from submission until its result is handed out AND every SQE that points into the slot
 *   has completed (sendmsg reads the slot's msghdr/packet; connect owns a socket). Free slots
 *   sit on a stack. Each send draws a keyed identity (token, nonce, TCP port: identity.c);
 *   token_index leads from a reply's token to its slot while the probe is IN_FLIGHT, so late,
 *   duplicate and forged replies find no slot, or one whose fields disagree (match.c).
 *
 * Deadlines
 *   An indexed binary min-heap of IN_FLIGHT slots keyed by deadline (CLOCK_MONOTONIC ns):
 *   O(log n) insert/remove, O(1) peek. TCP connect probes use IORING_OP_LINK_TIMEOUT instead.
 *
 * user_data (64 bits) packs what a completion is about:
 *   bits 63..56  op (OP_*)
 *   bits 55..32  reserved (0)
 *   bits 31..0   slot index for OP_SEND / OP_CONNECT / OP_LINK_TIMEOUT,
 *                socket index for OP_RECV / OP_ERRPOLL, 0 for OP_WAKE
 */
#ifndef CPROBE_INTERNAL_H
#define CPROBE_INTERNAL_H

#include <liburing.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "cprobe.h"
#include "cprobe_packet.h"

enum { OP_SEND = 1, OP_CONNECT, OP_LINK_TIMEOUT, OP_RECV, OP_ERRPOLL, OP_WAKE };

static inline uint64_t ud_pack(uint8_t op, uint32_t idx) { return (uint64_t)op << 56 | idx; }
static inline uint8_t ud_op(uint64_t ud) { return (uint8_t)(ud >> 56); }
static inline uint32_t ud_idx(uint64_t ud) { return (uint32_t)ud; }

enum { SLOT_FREE = 0, SLOT_IN_FLIGHT, SLOT_DONE, SLOT_DELIVERED };

/* Sockets, one per (family, protocol), and one per family for ICMP that must not fragment
 * (CPROBE_REQ_DONT_FRAGMENT: a socket option, so a socket of its own; it only sends — its
 * answers arrive on the ICMP socket of its family, which sees every ICMP packet). */
enum { SOCK_ICMP4 = 0, SOCK_ICMP6, SOCK_TCP4, SOCK_TCP6, SOCK_ICMP4_DF, SOCK_ICMP6_DF, SOCK_COUNT };

/* Control messages of one send: TTL / hop limit and TOS / traffic class, an int each, and the
 * source address / interface (in6_pktinfo is the larger of the two pktinfos). */
#define PKTINFO_MAX 20 /* sizeof(struct in6_pktinfo), asserted in engine.c (not every file that
                        * includes this sees its definition) */
#define SEND_CTRL_LEN (2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(PKTINFO_MAX))

#define NO_HEAP_POS UINT32_MAX
#define NO_SLOT UINT32_MAX
#define RECV_BUF_SIZE 2048
#define RECV_BUF_COUNT 1024 /* power of two */
#define RECV_CTRL_LEN 256
#define ERRQ_BATCH 64
#define ERRQ_BUF 512

struct slot {
    uint64_t cookie;
    uint64_t deadline_ns;  /* CLOCK_MONOTONIC */
    uint64_t sent_mono_ns; /* user clock, just before io_uring_enter */
    uint64_t sent_real_ns; /* CLOCK_REALTIME, same instant */
    uint64_t tx_kernel_ns; /* SO_TIMESTAMPING TX (CLOCK_REALTIME), 0 if none yet */
    uint64_t due_ns;       /* the request's, CLOCK_MONOTONIC; 0: none */
    uint32_t token;        /* keyed identity: ICMP identifier:sequence, TCP SYN: the ISN */
    uint32_t nonce;        /* ICMP: payload nonce */
    uint32_t heap_pos;
    uint8_t state;
    uint8_t kind;
    uint8_t family;
    uint8_t pending_sqes;  /* SQEs still pointing into this slot */
    uint8_t indexed;       /* token_index leads to this slot */
    uint16_t port;
    uint16_t sport;        /* TCP SYN: our source port */
    uint16_t seq;
    uint8_t ttl, tos, req_flags; /* the request's packet options (CPROBE_REQ_*) */
    uint16_t size;         /* ICMP payload bytes beyond the first CPROBE_MIN_PAYLOAD come from
                            * the engine's shared zeros (a second iovec) */
    uint16_t flow;
    uint32_t ifindex;      /* the request's interface, 0: none */
    uint8_t src[16];       /* the request's source, with CPROBE_REQ_SOURCE */
    int conn_fd;
    uint8_t addr[16];
    cprobe_result result;  /* filled when the slot becomes DONE */
    struct __kernel_timespec ts; /* TCP connect: the link timeout (read at submission) */
    struct sockaddr_in6 sa; /* destination (sockaddr_in fits) */
    struct iovec iov[2];
    struct msghdr msg;
    uint8_t ctrl[SEND_CTRL_LEN]; /* only when an option needs one (queue_send) */
    uint8_t pkt[CPROBE_ECHO_LEN > CPROBE_TCP_SYN_LEN ? CPROBE_ECHO_LEN : CPROBE_TCP_SYN_LEN];
};

struct probe_socket {
    int fd;           /* -1 when not open */
    uint8_t family;   /* 4 or 6 */
    uint8_t raw;      /* 1 raw, 0 ICMP datagram */
    uint8_t kind;     /* CPROBE_KIND_ICMP or CPROBE_KIND_TCP_SYN */
    uint8_t recv_armed;
    uint8_t errpoll_armed;
    uint8_t errq_dirty; /* POLLERR seen: drain the error queue before matching replies */
};

/* Source-address cache for IPv4 TCP SYN checksums (direct-mapped; route lookups via a UDP
 * connect() are cheap but not free, so each destination is looked up once a minute). */
#define SRC_CACHE_SIZE 4096
struct src_entry {
    uint32_t dst;
    uint32_t src;
    uint64_t expires_ns;
};

struct cprobe_engine {
    struct io_uring ring;
    uint32_t max_in_flight;
    uint32_t flags;
    struct slot *slots;
    uint32_t *free_stack;
    uint32_t free_top;
    uint32_t *heap; /* slot indices */
    uint32_t heap_len;
    uint32_t *done; /* ring of DONE slot indices awaiting delivery */
    uint32_t done_head, done_len;
    uint32_t *batch;         /* slots of the submit call in progress, for stamping */
    uint32_t *batch_timeout; /* their timeouts (ms) */
    int ring_ok;
    int woken;
    uint32_t in_flight;
    struct probe_socket socks[SOCK_COUNT];
    cprobe_ours ours;
    uint32_t echo_tag;       /* in every echo payload, for the kernel filter (sockets.c) */
    uint8_t *zeros;          /* CPROBE_MAX_PAYLOAD zero bytes: every probe's padding (read-only) */
    /* keyed identities (identity.c) */
    uint8_t key[16];         /* from getrandom() at creation; never leaves the engine */
    uint64_t key_words[2];   /* the same, as SipHash takes it */
    uint64_t sends;          /* identity counter: one per draw, never repeats */
    uint32_t *token_index;   /* token & token_mask -> slot, NO_SLOT when empty */
    uint32_t token_mask;
    int wake_fd;
    uint64_t wake_val;
    int wake_armed;
    int udp_route_fd4;
    struct src_entry *src_cache;
    /* multishot recvmsg */
    struct io_uring_buf_ring *buf_ring;
    uint8_t *recv_bufs;
    size_t buf_ring_size;
    struct msghdr recv_msg;
    /* error-queue drain scratch */
    struct mmsghdr errq_msgs[ERRQ_BATCH];
    struct iovec errq_iov[ERRQ_BATCH];
    struct sockaddr_in6 errq_name[ERRQ_BATCH]; /* ICMP errors: the quoted destination */
    uint8_t errq_data[ERRQ_BATCH][ERRQ_BUF];
    uint8_t errq_ctrl[ERRQ_BATCH][RECV_CTRL_LEN];
    cprobe_stats stats;
    cprobe_info info;
};

static inline uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static inline uint64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static inline uint64_t real_ns(void) { return clock_ns(CLOCK_REALTIME); }

/* heap.c */
void heap_push(struct cprobe_engine *e, uint32_t slot);
void heap_remove(struct cprobe_engine *e, uint32_t slot);
static inline uint32_t heap_peek(const struct cprobe_engine *e)
{
    return e->heap_len ? e->heap[0] : UINT32_MAX;
}

/* caps.c */
int caps_limit_to_net_raw(void);
int caps_raise_net_raw(void);
int caps_drop_all(void);

/* sockets.c */
int sockets_open(struct cprobe_engine *e, char *errbuf, size_t errlen);
void sockets_close(struct cprobe_engine *e);
int source_for(struct cprobe_engine *e, const uint8_t dst[4], uint8_t src_out[4], uint64_t now);

/* recv.c */
int recv_setup(struct cprobe_engine *e);
void recv_teardown(struct cprobe_engine *e);
int recv_arm(struct cprobe_engine *e, int sock);
int errpoll_arm(struct cprobe_engine *e, int sock);
void recv_complete(struct cprobe_engine *e, int sock, struct io_uring_cqe *cqe);
void errq_drain(struct cprobe_engine *e, int sock);

/* identity.c */
int identity_init(struct cprobe_engine *e);
int identity_draw(struct cprobe_engine *e, uint32_t idx);
void identity_forget(struct cprobe_engine *e, uint32_t idx);
struct slot *slot_by_token(struct cprobe_engine *e, uint32_t token);

/* match.c: the slot p answers, or NULL with *refusal = CPROBE_REFUSAL_* */
struct slot *slot_match(struct cprobe_engine *e, const cprobe_parsed *p, int *refusal);

/* engine.c: result plumbing shared with recv.c */
/* slots.c: a slot's end (its result recorded, out of the heap and the token index) and its
 * return to the free stack once the result is handed out. */
void slot_free(struct cprobe_engine *e, uint32_t idx);
void slot_finish(struct cprobe_engine *e, uint32_t idx, uint8_t status, int err);
void slot_finish_reply(struct cprobe_engine *e, uint32_t idx, uint8_t status, uint64_t rx_real_ns,
                       const cprobe_parsed *p);

#endif

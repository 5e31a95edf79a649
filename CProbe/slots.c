/*
 * slots.c — the in-flight table's slot lifecycle: free → in flight (engine.c takes one per
 * send) → done (a reply, an error or a deadline ends it here, with its result) → free (the
 * result handed out by cprobe_poll). Both the receive path (recv.c) and the engine call into
 * it; it calls neither, so the two have no circle between them.
 */
#include <string.h>

#include "internal.h"

void slot_free(struct cprobe_engine *e, uint32_t idx)
{
    struct slot *s = &e->slots[idx];
    s->state = SLOT_FREE;
    e->free_stack[e->free_top++] = idx;
}

/* When the packet left, on CLOCK_MONOTONIC (the kernel's TX stamp is CLOCK_REALTIME: moved by
 * the offset of the two clocks read together just before the send), minus when it was due. */
static uint64_t send_delay(const struct slot *s)
{
    if (s->due_ns == 0)
        return CPROBE_NO_SEND_DELAY;
    uint64_t sent = s->sent_mono_ns;
    if (s->tx_kernel_ns)
        sent += (uint64_t)((int64_t)(s->tx_kernel_ns - s->sent_real_ns));
    return sent > s->due_ns ? sent - s->due_ns : 0;
}

void slot_finish(struct cprobe_engine *e, uint32_t idx, uint8_t status, int err)
{
    struct slot *s = &e->slots[idx];
    if (s->state != SLOT_IN_FLIGHT)
        return;
    heap_remove(e, idx);
    identity_forget(e, idx); /* from here on, answers to it are late */
    s->state = SLOT_DONE;
    cprobe_result *r = &s->result;
    memset(r, 0, sizeof(*r));
    r->cookie = s->cookie;
    r->status = status;
    r->kind = s->kind;
    r->error = err;
    r->seq = s->seq;
    r->sent_ns = s->tx_kernel_ns ? s->tx_kernel_ns : s->sent_real_ns;
    r->send_delay_ns = status == CPROBE_ERROR ? CPROBE_NO_SEND_DELAY : send_delay(s);
    e->done[(e->done_head + e->done_len++) & (e->max_in_flight - 1)] = idx;
    e->in_flight--;
    e->stats.completed++;
}

void slot_finish_reply(struct cprobe_engine *e, uint32_t idx, uint8_t status, uint64_t rx_real_ns,
                       const cprobe_parsed *p)
{
    struct slot *s = &e->slots[idx];
    uint64_t now_mono = mono_ns();
    uint64_t rtt;
    uint8_t clock = 0;
    if (rx_real_ns || s->tx_kernel_ns) {
        uint64_t tx = s->tx_kernel_ns ? s->tx_kernel_ns : s->sent_real_ns;
        uint64_t rx = rx_real_ns ? rx_real_ns : real_ns();
        rtt = rx > tx ? rx - tx : 0;
        clock = (uint8_t)((s->tx_kernel_ns ? CPROBE_CLOCK_TX_KERNEL : 0) |
                          (rx_real_ns ? CPROBE_CLOCK_RX_KERNEL : 0));
    } else {
        rtt = now_mono > s->sent_mono_ns ? now_mono - s->sent_mono_ns : 0;
    }
    if (clock != (CPROBE_CLOCK_TX_KERNEL | CPROBE_CLOCK_RX_KERNEL))
        e->stats.user_clock_results++;
    slot_finish(e, idx, status, 0);
    cprobe_result *r = &s->result;
    r->rtt_ns = rtt;
    r->clock = clock;
    if (p && p->kind == CPROBE_PKT_ICMP_ERROR) {
        r->icmp_type = p->icmp_type;
        r->icmp_code = p->icmp_code;
        r->reporter_family = p->family;
        memcpy(r->reporter, p->reporter, 16);
        r->mtu = p->mtu;
    }
}

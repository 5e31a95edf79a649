/*
 * heap.c — indexed binary min-heap of in-flight slots ordered by deadline.
 *
 * Each slot remembers its position (heap_pos) so a probe answered before its deadline is
 * removed in O(log n) instead of lingering until it expires. Capacity = max_in_flight, so a
 * push can never overflow: a slot is in the heap at most once.
 */
#include "internal.h"

static inline uint64_t key(const struct cprobe_engine *e, uint32_t i)
{
    return e->slots[e->heap[i]].deadline_ns;
}

static inline void place(struct cprobe_engine *e, uint32_t i, uint32_t slot)
{
    e->heap[i] = slot;
    e->slots[slot].heap_pos = i;
}

static void sift_up(struct cprobe_engine *e, uint32_t i)
{
    uint32_t slot = e->heap[i];
    uint64_t k = e->slots[slot].deadline_ns;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (key(e, parent) <= k)
            break;
        place(e, i, e->heap[parent]);
        i = parent;
    }
    place(e, i, slot);
}

static void sift_down(struct cprobe_engine *e, uint32_t i)
{
    uint32_t slot = e->heap[i];
    uint64_t k = e->slots[slot].deadline_ns;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= e->heap_len)
            break;
        if (child + 1 < e->heap_len && key(e, child + 1) < key(e, child))
            child++;
        if (k <= key(e, child))
            break;
        place(e, i, e->heap[child]);
        i = child;
    }
    place(e, i, slot);
}

void heap_push(struct cprobe_engine *e, uint32_t slot)
{
    uint32_t i = e->heap_len++;
    place(e, i, slot);
    sift_up(e, i);
}

void heap_remove(struct cprobe_engine *e, uint32_t slot)
{
    uint32_t i = e->slots[slot].heap_pos;
    if (i == NO_HEAP_POS)
        return;
    e->slots[slot].heap_pos = NO_HEAP_POS;
    uint32_t last = e->heap[--e->heap_len];
    if (i == e->heap_len)
        return;
    place(e, i, last);
    if (i > 0 && key(e, (i - 1) / 2) > e->slots[last].deadline_ns)
        sift_up(e, i);
    else
        sift_down(e, i);
}

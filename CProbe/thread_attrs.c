/*
 * thread_attrs.c — the calling thread's kernel-visible name and scheduling (slice, real-time
 * policy), set from C: prctl(2) and syscall(2) are variadic (Swift cannot call them),
 * sched_setattr(2) has no glibc wrapper, and SCHED_RESET_ON_FORK is a GNU extension.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cprobe.h"

int cprobe_name_thread(const char *name)
{
    return prctl(PR_SET_NAME, name, 0, 0, 0) == 0 ? 0 : -errno;
}

struct slice_attr { /* struct sched_attr, SCHED_ATTR_SIZE_VER0 */
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};
_Static_assert(sizeof(struct slice_attr) == 48, "SCHED_ATTR_SIZE_VER0");

/* For a SCHED_OTHER thread, sched_attr.sched_runtime is the slice it requests (EEVDF, Linux
 * 6.12+; clamped to 0.1..100 ms; older kernels ignore it). The nice value is passed as it is:
 * lowering it would need CAP_SYS_NICE, keeping it needs nothing. With SCHED_FLAG_RESET_ON_FORK,
 * threads this one starts (libdispatch starts its workers from the thread that first queues
 * work) begin on the default slice; without it they inherited the short one (AgentThreadsTests
 * caught a Dispatch worker at 0.3 ms). */
int cprobe_set_thread_slice(uint64_t nanoseconds)
{
    struct slice_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.policy = 0; /* SCHED_OTHER */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0); /* on Linux: this thread's */
    if (nice == -1 && errno)
        return -errno;
    a.nice = nice;
    a.runtime = nanoseconds;
    a.flags = 0x01; /* SCHED_FLAG_RESET_ON_FORK */
    return syscall(SYS_sched_setattr, 0, &a, 0) == 0 ? 0 : -errno;
}

int cprobe_set_thread_realtime(int priority, int reset_on_fork)
{
    struct sched_param p = { .sched_priority = priority };
    int policy = SCHED_RR | (reset_on_fork ? SCHED_RESET_ON_FORK : 0);
    return sched_setscheduler(0, policy, &p) == 0 ? 0 : -errno;
}

int cprobe_set_thread_normal(void)
{
    struct sched_param p = { .sched_priority = 0 };
    return sched_setscheduler(0, SCHED_OTHER, &p) == 0 ? 0 : -errno;
}

int cprobe_thread_realtime_priority(void)
{
    int policy = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
    struct sched_param p;
    if ((policy != SCHED_RR && policy != SCHED_FIFO) || sched_getparam(0, &p) != 0)
        return 0;
    return p.sched_priority;
}

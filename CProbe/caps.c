/*
 * caps.c — CAP_NET_RAW handling with libcap, in the manner of iputils' ping:
 * keep only CAP_NET_RAW permitted, raise it into the effective set just around socket(),
 * and drop every capability once the sockets are open.
 */
#include <sys/capability.h>

#include "internal.h"

static int set_caps(int permit_raw, int effective_raw)
{
    cap_t caps = cap_init();
    if (!caps)
        return -1;
    cap_value_t raw = CAP_NET_RAW;
    int rc = 0;
    if (permit_raw)
        rc |= cap_set_flag(caps, CAP_PERMITTED, 1, &raw, CAP_SET);
    if (effective_raw)
        rc |= cap_set_flag(caps, CAP_EFFECTIVE, 1, &raw, CAP_SET);
    if (rc == 0)
        rc = cap_set_proc(caps);
    cap_free(caps);
    return rc;
}

int cprobe_have_cap_net_raw(void)
{
    cap_t caps = cap_get_proc();
    if (!caps)
        return 0;
    cap_flag_value_t v = CAP_CLEAR;
    cap_get_flag(caps, CAP_NET_RAW, CAP_PERMITTED, &v);
    cap_free(caps);
    return v == CAP_SET;
}

int caps_limit_to_net_raw(void) { return set_caps(1, 0); }
int caps_raise_net_raw(void) { return set_caps(1, 1); }

int caps_drop_all(void)
{
    cap_reset_ambient();
    return set_caps(0, 0);
}

int cprobe_caps_all_dropped(void)
{
    cap_t caps = cap_get_proc();
    if (!caps)
        return 0;
    cap_t empty = cap_init();
    int same = empty && cap_compare(caps, empty) == 0;
    cap_free(empty);
    cap_free(caps);
    for (cap_value_t c = 0; same && c <= CAP_LAST_CAP; c++)
        if (cap_get_ambient(c) == 1)
            same = 0;
    return same;
}

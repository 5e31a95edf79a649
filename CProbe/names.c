/* names.c — human names for statuses, kinds and refusals, and fix-it hints for errors a user
 * can fix. */
#include <errno.h>

#include "cprobe.h"

const char *cprobe_status_name(uint8_t status)
{
    switch (status) {
    case CPROBE_OK: return "ok";
    case CPROBE_TIMEOUT: return "timeout";
    case CPROBE_REFUSED: return "refused";
    case CPROBE_UNREACHABLE: return "unreachable";
    case CPROBE_ERROR: return "error";
    default: return "unknown";
    }
}

const char *cprobe_kind_name(uint8_t kind)
{
    switch (kind) {
    case CPROBE_KIND_ICMP: return "icmp";
    case CPROBE_KIND_TCP_SYN: return "tcp-syn";
    case CPROBE_KIND_TCP_CONNECT: return "tcp-connect";
    default: return "unknown";
    }
}

const char *cprobe_refusal_name(int reason)
{
    switch (reason) {
    case CPROBE_REFUSAL_NO_PROBE: return "no_probe";
    case CPROBE_REFUSAL_QUOTE_IDENTITY: return "quote_identity_mismatch";
    case CPROBE_REFUSAL_QUOTE_DST: return "quote_dst_mismatch";
    case CPROBE_REFUSAL_PEER: return "peer_mismatch";
    case CPROBE_REFUSAL_NONCE: return "nonce_mismatch";
    case CPROBE_REFUSAL_TCP_ACK: return "tcp_ack_mismatch";
    case CPROBE_REFUSAL_TCP_PORT: return "tcp_port_mismatch";
    default: return 0;
    }
}

const char *cprobe_strerror_hint(int err)
{
    switch (err) {
    case CPROBE_ERR_NOPERM:
    case -EPERM:
    case -EACCES:
        return "raw sockets need CAP_NET_RAW: run `sudo setcap cap_net_raw+ep <binary>`, or under "
               "systemd set AmbientCapabilities=CAP_NET_RAW; for ICMP without it, allow the "
               "unprivileged ICMP socket with `sysctl net.ipv4.ping_group_range=\"0 2147483647\"`";
    case CPROBE_ERR_NOSOCKET:
        return "no ICMP socket could be opened: grant CAP_NET_RAW (`sudo setcap cap_net_raw+ep "
               "<binary>`) or widen net.ipv4.ping_group_range to include your group";
    case -ENOSYS:
        return "io_uring is not available: the kernel is older than 6.0, io_uring is disabled "
               "(check /proc/sys/kernel/io_uring_disabled; it must be 0), or a seccomp filter "
               "(systemd SystemCallFilter=, a container runtime) blocks io_uring_setup";
    case -ENOMEM:
        return "io_uring could not lock memory for its rings: raise RLIMIT_MEMLOCK (ulimit -l) or "
               "lower max_in_flight";
    case -EMFILE:
    case -ENFILE:
        return "out of file descriptors: raise the open-files limit (ulimit -n, LimitNOFILE=)";
    default:
        return 0;
    }
}

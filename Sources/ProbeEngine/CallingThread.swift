import CProbe
#if canImport(Glibc)
import Glibc
#endif

/// Kernel-visible attributes of the calling thread (CProbe's thread_attrs.c).
public enum CallingThread {
    /// Names the thread as `ps -L`, `top -H` and perf show it (at most 15 bytes); 0, or a
    /// negative errno.
    @discardableResult
    public static func setName(_ name: String) -> Int32 { cprobe_name_thread(name) }

    /// Asks for a scheduling slice of `nanoseconds` (Linux 6.12+ EEVDF; older kernels ignore
    /// it); 0, or a negative errno.
    @discardableResult
    public static func requestSlice(nanoseconds: UInt64) -> Int32 { cprobe_set_thread_slice(nanoseconds) }

    /// Moves the thread to SCHED_RR at `priority`; with `resetOnFork`, threads it starts later
    /// begin at SCHED_OTHER, else they inherit it. 0, or a negative errno (EPERM without
    /// CAP_SYS_NICE, or RLIMIT_RTPRIO for a thread not yet real-time).
    @discardableResult
    public static func setRealtime(priority: Int32, resetOnFork: Bool) -> Int32 {
        cprobe_set_thread_realtime(priority, resetOnFork ? 1 : 0)
    }

    /// Back to SCHED_OTHER (needs no privilege); 0, or a negative errno.
    @discardableResult
    public static func setNormal() -> Int32 { cprobe_set_thread_normal() }

    /// The thread's real-time priority, 0 when it is not real-time.
    public static var realtimePriority: Int32 { cprobe_thread_realtime_priority() }

    /// CPU time the calling thread has used, in nanoseconds (CLOCK_THREAD_CPUTIME_ID; one
    /// clock_gettime, no vDSO: a fraction of a microsecond). 0 if the clock is unavailable.
    public static func cpuNanoseconds() -> UInt64 {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

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

    /// CPU time the calling thread has used, in nanoseconds (CLOCK_THREAD_CPUTIME_ID; one
    /// clock_gettime, no vDSO: a fraction of a microsecond). 0 if the clock is unavailable.
    public static func cpuNanoseconds() -> UInt64 {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

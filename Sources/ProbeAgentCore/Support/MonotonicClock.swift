#if canImport(Glibc)
import Glibc
#endif

/// The one reading of CLOCK_MONOTONIC, in nanoseconds: the time every deadline, lateness and
/// timeout in the agent is measured on. Pure code never calls it: it takes `now` from a
/// driver that does.
public enum MonotonicClock {
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// This process's resource usage (getrusage), for cost figures in reports and status.
public enum ProcessUsage {
    /// User + system CPU seconds so far.
    public static func cpuSeconds() -> Double {
        let ru = usage()
        return Double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + Double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6
    }

    /// Peak resident set size, in KiB.
    public static func maxRSSKilobytes() -> Int { usage().ru_maxrss }

    private static func usage() -> rusage {
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        return ru
    }
}

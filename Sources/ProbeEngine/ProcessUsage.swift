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

    /// Current resident set size in bytes (from /proc/self/statm), 0 if unreadable.
    public static func residentBytes() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0, resident = 0
        guard fscanf_statm(f, &size, &resident) else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func fscanf_statm(_ f: UnsafeMutablePointer<FILE>, _ size: inout Int, _ resident: inout Int) -> Bool {
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), f) != nil else { return false }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let s = Int(fields[0]), let r = Int(fields[1]) else { return false }
        (size, resident) = (s, r)
        return true
    }

    private static func usage() -> rusage {
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        return ru
    }
}

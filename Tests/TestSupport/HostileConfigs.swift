import Foundation

/// Config files built to hurt a YAML loader, shared by the unit and end-to-end tests of the
/// config limits (ConfigLimits).
public enum HostileConfigs {
    /// `x: [[[…]]]`, `depth` lists deep under the top-level mapping (5,000 crashed the agent).
    public static func nestedLists(_ depth: Int) -> String {
        "monitors: []\nx: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
    }

    /// The classic "billion laughs": ten levels of ten aliases to the level below, 10¹⁰ nodes
    /// from under 1 KB, the last level used as the monitor list.
    public static let billionLaughs: String = {
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 1..<10 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\nmonitors: *a9\n"
    }()

    /// Makes `path` a `bytes`-long file that starts as a config: sparse, so nothing that size is
    /// written (a 50 MB file costs no disk and no time to make).
    public static func writeSparse(_ path: String, bytes: Int64) throws {
        try "monitors: []\n".write(toFile: path, atomically: false, encoding: .utf8)
        guard truncate(path, off_t(bytes)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Seconds `body` took.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

import Foundation

/// Parsing and printing of config durations such as `3s`, `500ms`, `1m`, `1h30m`, `1.5s`.
///
/// The grammar is Go's `time.ParseDuration` without the sign: one or more `<number><unit>`
/// terms, where the number may carry a decimal fraction and the unit is one of `ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`. A bare number (`3`) is rejected: a unit is always required, so
/// nobody has to guess whether `3` meant seconds or milliseconds.
public enum DurationParser {
    private static let units: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Parses a duration string.
    ///
    /// - Parameter text: The text, for example `"1h30m"`.
    /// - Returns: The duration, or `nil` if the text is not a valid duration or overflows.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.isEmpty { return nil }
        var totalNanos: Int64 = 0
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
            let number = rest[..<numberEnd]
            rest = rest[numberEnd...]
            let unitEnd = rest.firstIndex { $0.isASCII && ($0.isNumber || $0 == ".") } ?? rest.endIndex
            let unit = rest[..<unitEnd]
            rest = rest[unitEnd...]
            guard let scale = units.first(where: { $0.0 == unit })?.1,
                  let nanos = termNanos(String(number), scale: scale) else { return nil }
            let (sum, overflow) = totalNanos.addingReportingOverflow(nanos)
            if overflow { return nil }
            totalNanos = sum
        }
        return .nanoseconds(totalNanos)
    }

    /// `number × scale` in nanoseconds, for a number with an optional decimal fraction.
    private static func termNanos(_ number: String, scale: Int64) -> Int64? {
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !number.isEmpty, number != "." else { return nil }
        let whole = parts[0].isEmpty ? 0 : Int64(parts[0])
        guard let whole else { return nil }
        var (nanos, overflow) = whole.multipliedReportingOverflow(by: scale)
        if overflow { return nil }
        if parts.count == 2, !parts[1].isEmpty {
            guard parts[1].allSatisfy(\.isNumber) else { return nil }
            // Digits beyond nanosecond precision are ignored.
            var fraction: Int64 = 0
            var divisor: Int64 = 1
            for digit in parts[1].prefix(18) {
                fraction = fraction * 10 + Int64(digit.wholeNumberValue!)
                divisor *= 10
            }
            let extra = Int64((Double(fraction) / Double(divisor) * Double(scale)).rounded())
            (nanos, overflow) = nanos.addingReportingOverflow(extra)
            if overflow { return nil }
        }
        return nanos
    }

    /// Formats a duration in the same grammar, shortest exact form first (`1h30m`, `500ms`).
    public static func format(_ duration: Duration) -> String {
        var nanos = duration.nanosecondsValue
        if nanos == 0 { return "0s" }
        var out = nanos < 0 ? "-" : ""
        nanos = nanos.magnitude > Int64.max.magnitude ? Int64.max : abs(nanos)
        if nanos % 1_000_000_000 != 0 {
            for (unit, scale) in [("ms", Int64(1_000_000)), ("us", 1_000), ("ns", 1)] where nanos % scale == 0 {
                return out + "\(nanos / scale)\(unit)"
            }
        }
        for (unit, scale) in [("h", Int64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000)] {
            let count = nanos / scale
            if count > 0 { out += "\(count)\(unit)" }
            nanos -= count * scale
        }
        return out
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64` bounds.
    public var nanosecondsValue: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? .min : .max) : sum
    }
}

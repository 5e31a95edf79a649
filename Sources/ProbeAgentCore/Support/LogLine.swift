/// One log event as exactly one line of text, in the shape its reader wants.
///
/// Under systemd (`.journal`) stderr goes to journald, which timestamps each line itself and
/// reads a leading `<N>` as the syslog priority (sd-daemon(3)), so a line is `<6>message k=v`.
/// Anywhere else (`.plain`) a line carries its own UTC ISO-8601 timestamp and level:
/// `2026-11-22T12:07:03.123Z info message k=v`. Line breaks and other control characters in the
/// message or metadata are escaped (`\n`, `\r`, `\x1b`), so one event never spans two lines.
///
/// Pure: the caller passes the time in. Cheap on the common path: text without control
/// characters is appended as is, and the timestamp is formatted by arithmetic, not by a
/// date formatter or the time zone database.
public enum LogLine {
    public enum Style: Sendable {
        /// journald: `<priority>` prefix, no timestamp.
        case journal
        /// A terminal or a file: timestamp and level name.
        case plain
    }

    /// The syslog priority journald files the line under: 7 debug … 3 error, 2 critical.
    public static func syslogPriority(_ level: LogLevel) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Renders one event, without the trailing newline.
    /// - Parameters:
    ///   - metadata: key/value pairs, printed in the order given as `key=value` (values with
    ///     spaces, quotes or `=` are quoted).
    ///   - unixMilliseconds: the event's wall-clock time; unused for `.journal`.
    public static func render(_ style: Style, level: LogLevel, message: String,
                              metadata: [(key: String, value: String)] = [], unixMilliseconds: Int64) -> String {
        var line = ""
        line.reserveCapacity(message.utf8.count + 40)
        switch style {
        case .journal:
            line += "<\(syslogPriority(level))>"
        case .plain:
            line += iso8601UTC(unixMilliseconds: unixMilliseconds)
            line += " "
            line += level.rawValue
            line += " "
        }
        appendEscaped(message, to: &line)
        for (key, value) in metadata {
            line += " "
            appendEscaped(key, to: &line)
            line += "="
            if needsQuotes(value) {
                line += "\""
                appendEscaped(value, to: &line, quoted: true)
                line += "\""
            } else {
                line += value
            }
        }
        return line
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the Unix epoch (proleptic Gregorian,
    /// days to civil date as in Howard Hinnant's `civil_from_days`).
    public static func iso8601UTC(unixMilliseconds: Int64) -> String {
        let ms = Int((unixMilliseconds % 1000 + 1000) % 1000)
        let seconds = (unixMilliseconds - Int64(ms)) / 1000
        var days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(ms, 3))Z"
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.utf8.count >= width ? s : String(repeating: "0", count: width - s.utf8.count) + s
    }

    private static func needsQuotes(_ value: String) -> Bool {
        value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") }
    }

    /// Appends `text` with control characters escaped (and, inside quotes, `"` and `\`).
    private static func appendEscaped(_ text: String, to line: inout String, quoted: Bool = false) {
        let special: (UInt8) -> Bool = { b in
            b < 0x20 || b == 0x7f || (quoted && (b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\")))
        }
        guard text.utf8.contains(where: special) else {
            line += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += quoted ? "\\t" : "\t"
            case "\"" where quoted: line += "\\\""
            case "\\" where quoted: line += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                let hex = String(scalar.value, radix: 16)
                line += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: line.unicodeScalars.append(scalar)
            }
        }
    }
}

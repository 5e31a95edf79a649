import Foundation

/// A probe target as written in the config: an IPv4 literal, an IPv6 literal, or a hostname.
///
/// Parsing is pure Swift (no `inet_pton`, no resolver): the config layer must not touch the
/// network, and a hostname is only checked for syntax here (RFC 1123 labels). Resolution
/// happens later, in the engine layer, on `scheduler.resolve_interval`.
public enum TargetAddress: Sendable, Hashable {
    /// Four bytes, network order.
    case ipv4([UInt8])
    /// Sixteen bytes, network order.
    case ipv6([UInt8])
    /// A syntactically valid DNS name, lower-cased, without a trailing dot.
    case hostname(String)

    /// Parses a target.
    ///
    /// - Parameter text: `127.0.0.1`, `::1`, `localhost`, `probe-1.example.org.` …
    /// - Returns: `nil` when the text is none of the three forms.
    public init?(parsing text: String) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            self = .ipv4(v4)
        } else if text.contains(":") {
            guard let v6 = Self.parseIPv6(text) else { return nil }
            self = .ipv6(v6)
        } else if Self.isValidHostname(text) {
            var name = text.lowercased()
            if name.hasSuffix(".") { name.removeLast() }
            self = .hostname(name)
        } else {
            return nil
        }
    }

    /// Whether the address is in 127.0.0.0/8 or is `::1` (hostnames: only `localhost`).
    public var isLoopback: Bool {
        switch self {
        case .ipv4(let b): return b[0] == 127
        case .ipv6(let b): return b[0..<15].allSatisfy { $0 == 0 } && b[15] == 1
        case .hostname(let name): return name == "localhost" || name.hasSuffix(".localhost")
        }
    }

    /// Dotted quad with four decimal parts 0…255 and no leading zeros (`010` is ambiguous).
    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part.count == 1 || part.first != "0", let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// RFC 4291 text form: eight groups, `::` once, an optional dotted-quad tail.
    static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String, allowV4Tail: Bool) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, part) in parts.enumerated() {
                if allowV4Tail, i == parts.count - 1, part.contains(".") {
                    guard let v4 = parseIPv4(part) else { return nil }
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit),
                      let value = UInt16(part, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        let all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowV4Tail: false),
                  let tail = groups(halves[1], allowV4Tail: true),
                  head.count + tail.count <= 7 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let g = groups(text, allowV4Tail: true), g.count == 8 else { return nil }
            all = g
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// RFC 1123 host name: dot-separated labels of 1…63 letters, digits and hyphens, not starting
    /// or ending with a hyphen, 253 characters at most, an optional trailing dot, and a last
    /// label that is not all digits (so a mistyped address like `10.0.0.256` is not taken for a
    /// name).
    static func isValidHostname(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.utf8.count),
                  label.utf8.allSatisfy({ isLetterDigit($0) || $0 == UInt8(ascii: "-") }),
                  label.first != "-", label.last != "-" else { return false }
        }
        return !labels.last!.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func isLetterDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// Binary encoding of a ``ResultRecord`` for the spill log.
///
/// Layout (little-endian), version 1:
///   u8 version | u8 protocol | u8 outcome | u8 flags (bit0 suppressed, bit1 has RTT)
///   i64 timestamp ms | [u64 rtt ns if has RTT]
///   str monitor | str target | u16 label count | (str name, str value)*
/// where str = u16 length + UTF-8 bytes. Version 2, a path monitor's sample (``PathSample``):
/// version 1's layout, then u8 metric | u64 value (the Double's bits). Probe results stay
/// version 1. Decoding checks every length against the buffer and rejects unknown versions
/// and enum values: a record from disk is input, not trusted.
extension ResultRecord {
    public enum DecodeError: Error, Equatable { case truncated, badVersion(UInt8), badValue(String) }

    static let version: UInt8 = 1
    static let pathVersion: UInt8 = 2
    /// The shortest encoding: the four u8, the timestamp, two empty strings, no labels.
    public static let minimumEncodedBytes = 4 + 8 + 2 + 2 + 2

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + monitorID.utf8.count + target.utf8.count + labels.count * 16)
        encode(into: &out)
        return out
    }

    /// Appends the encoding to `out` (the write-ahead log's blocks encode every result this
    /// way, with no array of its own per result).
    public func encode(into out: inout [UInt8]) {
        out.append(path == nil ? Self.version : Self.pathVersion)
        out.append(UInt8(ProbeProtocol.allCases.firstIndex(of: probeProtocol)!))
        out.append(UInt8(ProbeOutcome.allCases.firstIndex(of: outcome)!))
        out.append((suppressed ? 1 : 0) | (rttNanoseconds != nil ? 2 : 0))
        Self.put(&out, UInt64(bitPattern: timestampMilliseconds))
        if let rtt = rttNanoseconds { Self.put(&out, rtt) }
        Self.put(&out, monitorID)
        Self.put(&out, target)
        Self.put16(&out, UInt16(clamping: labels.count))
        for (k, v) in labels.prefix(Int(UInt16.max)) {
            Self.put(&out, k)
            Self.put(&out, v)
        }
        if let path {
            out.append(path.metric.rawValue)
            Self.put(&out, path.value.bitPattern)
        }
    }

    public init(decoding bytes: some Collection<UInt8>) throws(DecodeError) {
        var r = Reader(bytes: Array(bytes))
        let version = try r.u8()
        guard version == Self.version || version == Self.pathVersion else { throw .badVersion(version) }
        let p = Int(try r.u8()), o = Int(try r.u8()), flags = try r.u8()
        guard p < ProbeProtocol.allCases.count else { throw .badValue("protocol \(p)") }
        guard o < ProbeOutcome.allCases.count else { throw .badValue("outcome \(o)") }
        let ts = Int64(bitPattern: try r.u64())
        let rtt = flags & 2 != 0 ? try r.u64() : nil
        let monitor = try r.string(), target = try r.string()
        let count = Int(try r.u16())
        var labels: [(String, String)] = []
        labels.reserveCapacity(min(count, r.remaining / 4)) // a label takes 4 bytes at least
        for _ in 0..<count { labels.append((try r.string(), try r.string())) }
        guard version == Self.pathVersion else {
            self.init(monitorID: monitor, target: target, probeProtocol: ProbeProtocol.allCases[p],
                      outcome: ProbeOutcome.allCases[o], suppressed: flags & 1 != 0, rttNanoseconds: rtt,
                      timestampMilliseconds: ts, labels: labels)
            return
        }
        let m = try r.u8()
        guard let metric = PathSample.Metric(rawValue: m) else { throw .badValue("path metric \(m)") }
        // The agent writes finite values only; NaN would also not equal itself once decoded.
        let value = Double(bitPattern: try r.u64())
        guard value.isFinite else { throw .badValue("path sample value \(value)") }
        let sample = PathSample(metric, value)
        var hop: (Int, String)?
        if metric.isPerHop {
            guard labels.count >= 2, labels[labels.count - 2].0 == "hop", labels[labels.count - 1].0 == "router",
                  let ttl = Int(labels[labels.count - 2].1) else { throw .badValue("per-hop path sample without hop and router") }
            hop = (ttl, labels[labels.count - 1].1)
            labels.removeLast(2)
        }
        self.init(path: sample, monitorID: monitor, target: target, probeProtocol: ProbeProtocol.allCases[p],
                  timestampMilliseconds: ts, labels: labels, hop: hop)
    }

    private static func put(_ out: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    private static func put16(_ out: inout [UInt8], _ v: UInt16) {
        out.append(UInt8(truncatingIfNeeded: v))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    private static func put(_ out: inout [UInt8], _ s: String) {
        let utf8 = s.utf8
        let n = min(utf8.count, Int(UInt16.max))
        put16(&out, UInt16(n))
        // The whole view (the common case) appends from the string's contiguous storage; a
        // prefix would be copied byte by byte.
        if n == utf8.count { out.append(contentsOf: utf8) } else { out.append(contentsOf: utf8.prefix(n)) }
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0
        var remaining: Int { bytes.count - at }

        mutating func take(_ n: Int) throws(DecodeError) -> ArraySlice<UInt8> {
            guard n >= 0, bytes.count - at >= n else { throw .truncated }
            defer { at += n }
            return bytes[at..<at + n]
        }

        mutating func u8() throws(DecodeError) -> UInt8 { try take(1).first! }

        mutating func u16() throws(DecodeError) -> UInt16 {
            let b = try take(2)
            return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
        }

        mutating func u64() throws(DecodeError) -> UInt64 {
            try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func string() throws(DecodeError) -> String {
            let n = Int(try u16())
            guard let s = String(validating: try take(n), as: UTF8.self) else { throw .badValue("string is not UTF-8") }
            return s
        }
    }
}

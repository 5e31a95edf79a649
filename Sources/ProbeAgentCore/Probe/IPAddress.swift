#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, stored inline (no heap) so a table of 100k targets stays compact.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 or 6.
    public let family: UInt8
    /// The 16 address bytes; IPv4 uses the first 4, the rest are zero.
    public let bytes: (UInt64, UInt64)

    public init(family: UInt8, bytes raw: [UInt8]) {
        precondition(family == 4 ? raw.count == 4 : raw.count == 16, "bad address length")
        let padded = raw + [UInt8](repeating: 0, count: 16 - raw.count)
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(padded[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(padded[i]) }
        self.family = family
        self.bytes = (hi, lo)
    }

    /// Parses a literal ("127.0.0.1", "::1"); nil when it is not an IP literal.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(family: 4, bytes: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(family: 6, bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    /// The address bytes in network order (4 or 16 of them).
    public var octets: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: bytes.0 >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: bytes.1 >> (56 - 8 * UInt64(i)))
        }
        return family == 4 ? Array(out.prefix(4)) : out
    }

    public var description: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let raw = octets
        _ = raw.withUnsafeBytes { src in
            inet_ntop(family == 4 ? AF_INET : AF_INET6, src.baseAddress, &buf, socklen_t(buf.count))
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func == (a: IPAddress, b: IPAddress) -> Bool {
        a.family == b.family && a.bytes == b.bytes
    }

    public func hash(into h: inout Hasher) {
        h.combine(family)
        h.combine(bytes.0)
        h.combine(bytes.1)
    }
}

import Foundation

/// Which shard a target belongs to, by Prometheus's `hashmod` convention: the MD5 digest of
/// the target's address as listed, its last 8 bytes read as a big-endian integer, mod the
/// shard count (Prometheus `model/relabel`: `binary.BigEndian.Uint64(md5[8:]) % modulus`).
/// A Prometheus relabel rule `{source_labels: [__address__], modulus: N, action: hashmod}`
/// therefore puts an address without a port in the same shard as this agent does.
///
/// MD5 is written out here (RFC 1321) rather than taken from swift-crypto: it is the only
/// digest ProbeAgentCore needs, and this target is also built by the fuzz package, which
/// would otherwise build a crypto library for it. It is no security function here, only a
/// stable spread; the RFC's test vectors pin it (ShardHashTests).
public enum ShardHash {
    /// The shard of `target` among `count` shards.
    public static func shard(of target: String, count: Int) -> Int {
        let digest = md5(Array(target.utf8))
        var tail: UInt64 = 0
        for byte in digest[8..<16] { tail = tail << 8 | UInt64(byte) }
        return Int(tail % UInt64(count))
    }

    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    /// floor(|sin(i + 1)| · 2^32).
    private static let constants: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    /// The 16-byte MD5 digest of `message`.
    public static func md5(_ message: [UInt8]) -> [UInt8] {
        var bytes = message
        let bitLength = UInt64(message.count) &* 8
        bytes.append(0x80)
        while bytes.count % 64 != 56 { bytes.append(0) }
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        var a0: UInt32 = 0x6745_2301, b0: UInt32 = 0xefcd_ab89, c0: UInt32 = 0x98ba_dcfe, d0: UInt32 = 0x1032_5476
        var m = [UInt32](repeating: 0, count: 16)
        for chunk in stride(from: 0, to: bytes.count, by: 64) {
            for i in 0..<16 {
                let o = chunk + 4 * i
                m[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ constants[i] &+ m[g]
                a = d
                d = c
                c = b
                b = b &+ (f << shifts[i] | f >> (32 - shifts[i]))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
        return [a0, b0, c0, d0].flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
    }
}

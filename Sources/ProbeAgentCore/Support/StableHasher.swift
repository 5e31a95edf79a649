/// A 64-bit FNV-1a hasher whose output is the same in every process and on every run.
///
/// Swift's `Hasher` is seeded randomly per process, so it cannot be used for anything that must
/// survive a restart or be compared between processes (config hashes, probe phases). FNV-1a is
/// tiny, has no seed, and mixes well enough for identity hashing; it is not cryptographic.
///
/// Values are fed in a canonical, self-delimiting encoding: strings are length-prefixed, so
/// `("ab", "c")` and `("a", "bc")` hash differently, and integers are fed as 8 little-endian bytes.
public struct StableHasher: Sendable {
    /// FNV-1a 64-bit offset basis.
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    /// FNV-1a 64-bit prime.
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// The hash of everything fed so far.
    public private(set) var value: UInt64 = StableHasher.offsetBasis

    /// Creates a hasher in its initial state.
    public init() {}

    /// Feeds one byte.
    public mutating func combine(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* StableHasher.prime
    }

    /// Feeds an integer as 8 little-endian bytes.
    public mutating func combine(_ int: UInt64) {
        var v = int
        for _ in 0..<8 {
            combine(byte: UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    /// Feeds a signed integer as 8 little-endian bytes (two's complement).
    public mutating func combine(_ int: Int64) {
        combine(UInt64(bitPattern: int))
    }

    /// Feeds a string as its UTF-8 length followed by its UTF-8 bytes.
    public mutating func combine(_ string: String) {
        let utf8 = string.utf8
        combine(UInt64(utf8.count))
        for byte in utf8 { combine(byte: byte) }
    }

    /// The final hash, passed through a 64-bit finaliser (splitmix64) so that the low bits are
    /// as well mixed as the high ones; FNV-1a alone leaves the low bits weak for short inputs.
    public func finalize() -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

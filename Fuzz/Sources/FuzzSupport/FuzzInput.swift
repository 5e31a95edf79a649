/// Reads a fuzz input as a sequence of small fields; past the end every read yields zeros
/// (or nothing), so any byte string is a valid input and mutations stay meaningful.
public struct FuzzInput {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var at = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var isAtEnd: Bool { at >= bytes.count }
    public var remaining: Int { max(0, bytes.count - at) }

    public mutating func u8() -> UInt8 {
        guard at < bytes.count else { return 0 }
        defer { at += 1 }
        return bytes[at]
    }

    public mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    public mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    public mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }

    /// Up to `n` bytes (fewer at the end).
    public mutating func take(_ n: Int) -> [UInt8] {
        let k = min(max(0, n), remaining)
        defer { at += k }
        return Array(bytes[at..<at + k])
    }

    /// A u16 length, then that many bytes.
    public mutating func chunk() -> [UInt8] { take(Int(u16())) }

    /// Everything left.
    public mutating func rest() -> [UInt8] { take(remaining) }
}

/// Builds inputs in the layout `FuzzInput` reads (for seeds).
public struct FuzzInputWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { bytes += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
    public mutating func u32(_ v: UInt32) { u16(UInt16(truncatingIfNeeded: v)); u16(UInt16(truncatingIfNeeded: v >> 16)) }
    public mutating func u64(_ v: UInt64) { u32(UInt32(truncatingIfNeeded: v)); u32(UInt32(truncatingIfNeeded: v >> 32)) }
    public mutating func raw(_ b: some Sequence<UInt8>) { bytes += b }

    public mutating func chunk(_ b: [UInt8]) {
        precondition(b.count <= Int(UInt16.max), "chunk over 64 KiB")
        u16(UInt16(b.count))
        bytes += b
    }
}

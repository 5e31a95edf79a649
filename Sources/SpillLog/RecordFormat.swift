// The on-disk framing of one spill record.
//
//   offset  size  field
//        0     4  magic       A7 53 50 31  ("\xA7SP1"; the high first byte makes it rare in text)
//        4     4  length      payload bytes, u32 little-endian, at most 1 MiB
//        8     4  crc         CRC-32C over bytes 4..<8 (length), 12..<20 (timestamp) and the payload
//       12     8  timestamp   i64 little-endian, nanoseconds since the Unix epoch (caller's clock)
//       20     n  payload     opaque bytes
//
// The CRC covers everything but the magic and itself, so a flipped bit in the length or the
// timestamp is caught like one in the payload. A header is "plausible" when the magic matches
// and length <= 1 MiB; a record is valid when it is plausible, lies wholly inside the file, and
// its CRC matches. Records are packed back to back with no padding and no segment header, so a
// segment is nothing but records: any byte offset can be tried as a record start, which is what
// resynchronisation after corruption does (see SegmentScanner).
// Cost: encode and validate are O(payload) (one CRC pass); the header itself is O(1).

/// Constants and codec for one record; pure functions over byte buffers, no I/O.
enum RecordFormat {
    /// The magic as it reads when loaded as a little-endian u32.
    static let magic: UInt32 = 0x3150_53A7
    static let headerSize = 20
    /// Largest payload accepted by `append` (and believed by the scanner).
    static let maxPayload = 1 << 20
    /// Largest record on disk: header plus the largest payload.
    static let maxRecord = headerSize + maxPayload

    /// Bytes a record with `payloadCount` bytes of payload takes on disk.
    @inline(__always)
    static func size(payload payloadCount: Int) -> Int { headerSize + payloadCount }

    /// Appends the framed record to `out`.
    static func encode(payload: UnsafeRawBufferPointer, timestamp: Int64, into out: inout [UInt8]) {
        precondition(payload.count <= maxPayload, "payload over 1 MiB reached the encoder")
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: headerSize))
        out.append(contentsOf: payload)
        out.withUnsafeMutableBytes { all in
            let h = UnsafeMutableRawBufferPointer(rebasing: all[start...])
            h.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            h.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
            h.storeBytes(of: timestamp.littleEndian, toByteOffset: 12, as: Int64.self)
            // Length, then timestamp and payload (contiguous from byte 12).
            var crc = CRC32C.update(CRC32C.initial, UnsafeRawBufferPointer(rebasing: h[4..<8]))
            crc = CRC32C.finish(CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: h[12...])))
            h.storeBytes(of: crc.littleEndian, toByteOffset: 8, as: UInt32.self)
        }
    }

    /// What a decode attempt at one offset found.
    enum Decoded: Equatable {
        /// A valid record: its timestamp and payload length (payload starts at offset + 20).
        case record(timestamp: Int64, payloadLength: Int)
        /// The header is plausible so far but the buffer ends before `bytes` bytes from offset.
        case needBytes(Int)
        /// Not a record start: wrong magic, impossible length, or CRC mismatch.
        case invalid
    }

    /// Tries to decode a record starting at `offset` in `buffer`.
    static func decode(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> Decoded {
        let available = buffer.count - offset
        if available < 4 {
            // Too short to judge even the magic: compare what is there.
            for i in 0..<max(available, 0) where buffer[offset + i] != UInt8(truncatingIfNeeded: magic >> (8 * UInt32(i))) {
                return .invalid
            }
            return .needBytes(headerSize)
        }
        guard UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) == magic else {
            return .invalid
        }
        guard available >= headerSize else { return .needBytes(headerSize) }
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        guard length <= maxPayload else { return .invalid }
        guard available >= headerSize + length else { return .needBytes(headerSize + length) }
        let stored = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
        var crc = CRC32C.update(CRC32C.initial, UnsafeRawBufferPointer(rebasing: buffer[(offset + 4)..<(offset + 8)]))
        crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: buffer[(offset + 12)..<(offset + headerSize + length)]))
        guard CRC32C.finish(crc) == stored else { return .invalid }
        let timestamp = Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 12, as: Int64.self))
        return .record(timestamp: timestamp, payloadLength: length)
    }
}

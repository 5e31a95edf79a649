// A forward scanner over one segment file: yields its records, and the byte ranges that are
// not records, in file order. Used by recovery at open (to count, find torn tails and corrupt
// ranges) and by the reader (to deliver payloads); both therefore agree on what is a record.
//
// Data structure: a sliding window of file bytes `[windowStart, windowStart + windowCount)`,
// refilled by one pread from the current position whenever the record being examined does
// not fit. The window grows to one whole record when needed (at most 1 MiB + 20 bytes), so
// memory is O(max(chunk, largest record)) whatever the file size.
//
// Resynchronisation: when the bytes at `position` are not a valid record, the scanner marks
// the start of a garbage range and tries the next byte equal to the magic's first byte
// (memchr), until some offset decodes as a valid record (magic, length <= 1 MiB, whole record
// inside the file, CRC match) -- the garbage range then ends there -- or the limit is reached,
// in which case the garbage runs to the end ("atEnd": a torn tail if this is the last segment).
// Cost: O(bytes) for clean data (one CRC pass). Garbage costs one CRC per candidate offset that
// carries the magic and a plausible length, so a pathological file full of fake headers is
// O(bytes x 1 MiB) in the worst case; it terminates on any content, it is never a crash.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

struct SegmentScanner {
    enum Event: Equatable {
        /// A valid record at `offset`, `size` bytes long including the header; its payload is
        /// `payload` in the window (valid until the next call to `next()`).
        case record(offset: Int, size: Int, timestamp: Int64, payload: Range<Int>)
        /// `length` bytes from `offset` that are not records. `atEnd`: they run to the limit
        /// with no valid record after them.
        case garbage(offset: Int, length: Int, atEnd: Bool)
    }

    let fd: Int32
    let path: String
    /// Bytes of the file that belong to the segment; the reader raises it as appends land.
    var limit: Int
    /// Next offset to examine.
    private(set) var position: Int
    private var garbageStart: Int?
    private var window: [UInt8] = []
    private var windowStart = 0
    private var windowCount = 0
    private let chunk: Int

    init(fd: Int32, path: String, from position: Int, limit: Int, chunk: Int = 256 << 10) {
        self.fd = fd
        self.path = path
        self.position = position
        self.limit = limit
        self.chunk = chunk
    }

    /// The next record or garbage range, or nil at the limit.
    mutating func next() throws -> Event? {
        while true {
            if position >= limit {
                if let g = garbageStart {
                    garbageStart = nil
                    return .garbage(offset: g, length: limit - g, atEnd: true)
                }
                return nil
            }
            var decoded = try decodeHere(need: RecordFormat.headerSize)
            if case .needBytes(let n) = decoded {
                decoded = position + n <= limit ? try decodeHere(need: n) : .invalid
                if case .needBytes = decoded { decoded = .invalid } // file shorter than limit
            }
            switch decoded {
            case .record(let timestamp, let length):
                if let g = garbageStart {
                    // Report the garbage first; the record is decoded again on the next call.
                    garbageStart = nil
                    return .garbage(offset: g, length: position - g, atEnd: false)
                }
                let offset = position
                let size = RecordFormat.size(payload: length)
                let payloadStart = offset - windowStart + RecordFormat.headerSize
                position += size
                return .record(offset: offset, size: size, timestamp: timestamp,
                               payload: payloadStart..<(payloadStart + length))
            case .invalid, .needBytes:
                if garbageStart == nil { garbageStart = position }
                position = nextCandidate(after: position)
            }
        }
    }

    /// A copy of a payload range returned with `.record`.
    func payload(_ range: Range<Int>) -> Data {
        window.withUnsafeBytes { Data(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Decodes at `position` after making sure the window holds `need` bytes from there (or
    /// everything up to the limit).
    private mutating func decodeHere(need: Int) throws -> RecordFormat.Decoded {
        try fill(need: need)
        let start = position - windowStart
        return window.withUnsafeBytes { raw in
            RecordFormat.decode(UnsafeRawBufferPointer(rebasing: raw[0..<(start + min(windowCount - start, need))]), at: start)
        }
    }

    private mutating func fill(need: Int) throws {
        let wanted = min(need, limit - position)
        if position >= windowStart, position + wanted <= windowStart + windowCount { return }
        let count = min(max(need, chunk), limit - position)
        if window.count < count { window = [UInt8](repeating: 0, count: count) }
        let got = try window.withUnsafeMutableBytes { raw in
            try Sys.preadFull(fd, UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: position, path)
        }
        windowStart = position
        windowCount = got
        // A file shorter than the limit (truncated behind our back): the segment ends here.
        if got < count { limit = position + got }
    }

    /// The next offset after `offset` that starts with the magic's first byte, or the end of
    /// the window (the scan continues there with a fresh window).
    private func nextCandidate(after offset: Int) -> Int {
        let from = offset + 1 - windowStart
        let end = windowCount
        guard from >= 0, from < end else { return min(offset + 1, limit) }
        let first = Int32(RecordFormat.magic & 0xFF)
        return window.withUnsafeBytes { raw in
            if let hit = memchr(raw.baseAddress! + from, first, end - from) {
                return windowStart + (raw.baseAddress!.distance(to: UnsafeRawPointer(hit)))
            }
            return windowStart + end
        }
    }
}

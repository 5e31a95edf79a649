// In-memory bookkeeping for one segment file `seg-<16 hex digits>.log`.
//
// The spill log keeps one of these per file, in an array ordered by id (oldest first); the
// last one is the write segment. Everything here is rebuilt at open by scanning the file, and
// kept current by append/drop, so caps, the pending count and the age cap never touch the disk.
// Memory: O(1) per segment plus one entry per corrupt range found (normally none).

/// What the log knows about one segment file.
struct Segment {
    let id: UInt64
    /// Bytes of valid content (= file size; torn tails are cut at open).
    var size = 0
    /// Valid records in the segment.
    var records = 0
    /// Largest record timestamp, `Int64.min` while empty.
    var newestNanos = Int64.min
    /// Start offsets of garbage ranges already counted at open, so that the reader, which
    /// skips them again, does not count them twice.
    var knownGarbage: Set<Int> = []

    init(id: UInt64) { self.id = id }

    static func fileName(_ id: UInt64) -> String {
        let hex = String(id, radix: 16)
        return "seg-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".log"
    }

    /// The largest id a segment may have: numbering continues after the newest id, so an id
    /// near `UInt64.max` (a foreign or damaged name) must not be adopted. 2^63 - 1 segments is
    /// far beyond anything a disk holds.
    static let maxID = UInt64(Int64.max)

    /// What a directory entry's name says about it.
    enum NameKind: Equatable {
        /// `seg-<16 lowercase hex digits>.log` with an id in `1...maxID`.
        case segment(UInt64)
        /// Starts with `seg-` but is not a usable segment name; `why` says what is wrong.
        case badSegment(why: String)
        /// Anything else.
        case other
    }

    static func kind(ofFileName name: String) -> NameKind {
        guard name.hasPrefix("seg-") else { return .other }
        guard name.hasSuffix(".log") else {
            return .badSegment(why: "named like a segment but without the .log suffix")
        }
        let utf8 = Array(name.utf8)
        guard utf8.count == 4 + 16 + 4 else {
            return .badSegment(why: "a segment id must be exactly 16 lowercase hex digits, this one has \(max(0, utf8.count - 8)) characters")
        }
        let hex = utf8[4..<20]
        guard hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let id = UInt64(String(decoding: hex, as: UTF8.self), radix: 16)
        else { return .badSegment(why: "a segment id must be 16 lowercase hex digits") }
        if id == 0 { return .badSegment(why: "segment id 0 is never used (ids start at 1)") }
        if id > maxID { return .badSegment(why: "segment id above 0x7fffffffffffffff leaves no room to number the next segments") }
        return .segment(id)
    }

    /// The id of a segment file name, or nil for any other name (which the log skips).
    static func id(fromFileName name: String) -> UInt64? {
        if case .segment(let id) = kind(ofFileName: name) { return id }
        return nil
    }
}

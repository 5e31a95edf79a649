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

    /// The id of a segment file name, or nil for any other name (which the log ignores).
    static func id(fromFileName name: String) -> UInt64? {
        let utf8 = Array(name.utf8)
        guard utf8.count == 4 + 16 + 4, name.hasPrefix("seg-"), name.hasSuffix(".log") else { return nil }
        let hex = utf8[4..<20]
        guard hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return UInt64(String(decoding: hex, as: UTF8.self), radix: 16)
    }
}

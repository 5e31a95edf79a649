// Several readers of one log: each has its own cursor, committed position and position file,
// so a store that is down (its reader stays behind) never holds back another (DESIGN.md,
// "Several stores").
//
// A reader is named; its committed position lives in `read-<name>.pos` (ReadPositionFile). The
// nameless reader ("") is the single reader of a log opened without names and keeps the
// original file name `read.pos`, so a log written before readers had names opens unchanged.
// Names are fixed at open (the config's remote_write endpoints); at open:
//   - a named reader without its file whose log holds `read.pos` (the first named one only)
//     takes that position: a spill directory of a one-store release keeps its place; the
//     named file is saved and `read.pos` removed;
//   - a position file of a name not given (an endpoint removed from the config) is deleted,
//     with a line in `openWarnings` saying where it was;
//   - a reader with no position starts at the oldest record the log holds (at-least-once).
// Segments are deleted only once every reader has committed past them; a cap that drops a
// segment counts, per reader, the records it had not yet committed (`ReaderStats.dropped`).
// Costs: the pending count of a reader is O(segments) (segments are few: max_bytes / 8 MiB).

#if canImport(Glibc)
import Glibc
#endif

/// One reader's progress through the log.
struct LogReader {
    let name: String
    /// Persisted; everything before it was acknowledged by this reader's consumer.
    var committed: SpillPosition
    /// How far ``SpillLog/read(max:reader:)`` has handed records out to this reader.
    var cursor: SpillPosition
    /// The position last written to this reader's file (nil: not yet saved by this process).
    var saved: (segment: UInt64, offset: Int)?
    /// Open descriptor and scanner on the cursor's segment.
    var scan: (segment: UInt64, fd: Int32, scanner: SegmentScanner)?
    /// Cached timestamp of the oldest pending record: nil = unknown, .some(nil) = none pending.
    var headTimestamp: Int64??
    /// Records it had not committed that a cap dropped, since open.
    var dropped = 0

    init(name: String, at start: SpillPosition) {
        self.name = name
        committed = start
        cursor = start
    }

    var fileName: String { ReadPositionFile.fileName(reader: name) }
}

/// One reader's gauges and counters (``SpillStats/readers``).
public struct ReaderStats: Sendable, Equatable {
    public var name: String
    /// Records this reader has not committed yet.
    public var pendingRecords = 0
    /// Timestamp of its oldest pending record, nil when nothing is pending for it.
    public var oldestPendingTimestampNanos: Int64?
    /// Records it had not committed that the byte or age cap dropped, since open.
    public var droppedRecords = 0

    public func oldestPendingAge(nowNanos: Int64) -> Duration? {
        oldestPendingTimestampNanos.map { .nanoseconds(nowNanos) - .nanoseconds($0) }
    }
}

extension SpillLog {
    /// Whether `name` can name a reader: it must be safe inside a file name in the log's own
    /// directory — 1 to 100 bytes, no `/` or NUL, not starting with a dot. (The config's
    /// endpoint names, a stricter rule, always pass.)
    public static func isValidReaderName(_ name: String) -> Bool {
        let utf8 = name.utf8
        return (1...100).contains(utf8.count) && utf8.first != UInt8(ascii: ".")
            && !utf8.contains(UInt8(ascii: "/")) && !utf8.contains(0)
    }

    /// The readers' names, in the order given at open (their index is the `reader:` argument).
    public var readerNames: [String] { readers.map(\.name) }

    /// Per reader, the records it had not committed that a cap dropped since open (what
    /// ``stats`` reports too, without its disk reads).
    public var droppedPerReader: [Int] { readers.map(\.dropped) }

    /// Records not yet committed by reader `r` (read-but-uncommitted ones included).
    func pendingRecords(reader r: Int) -> Int {
        let at = readers[r].committed
        var before = 0
        for segment in segments {
            if segment.id >= at.segment { break }
            before += segment.records
        }
        return totalRecords - before - (index(of: at.segment) != nil ? at.ordinal : 0)
    }

    /// The reader furthest behind (its pending records are everybody's): the log's oldest
    /// pending record is its oldest.
    var laggard: Int {
        var worst = 0
        for r in readers.indices.dropFirst() where readers[r].committed.isBefore(readers[worst].committed) { worst = r }
        return worst
    }

    /// Whether every reader has committed through the whole of `segment`.
    func everyReaderDone(with segment: Segment) -> Bool {
        readers.allSatisfy { r in
            r.committed.segment > segment.id || (r.committed.segment == segment.id && r.committed.offset >= segment.size)
        }
    }

    /// Counts, per reader, what dropping `segment` (the oldest) takes from it; returns the
    /// most any reader lost (what the log-wide `droppedRecords` counts).
    func countDrop(of segment: Segment) -> Int {
        var most = 0
        for r in readers.indices {
            let c = readers[r].committed
            let lost = c.segment > segment.id ? 0 : c.segment == segment.id ? segment.records - c.ordinal : segment.records
            readers[r].dropped += lost
            most = max(most, lost)
        }
        return most
    }

    /// Open: position files of names not among the readers (endpoints removed from the config)
    /// are deleted, each named in `openWarnings` with where it stood; stale temp files too.
    func dropUnknownPositionFiles(_ names: [String]) throws {
        let known = Set(readers.map(\.fileName))
        for file in names {
            guard let reader = ReadPositionFile.readerName(ofFile: file) else { continue }
            if file.hasSuffix(".tmp") {
                try? Sys.unlink(directory + "/" + file)
                continue
            }
            guard !known.contains(file) else { continue }
            // read.pos after the first named reader took it over is handled by the migration.
            if reader.isEmpty && readers.first.map({ !$0.name.isEmpty }) == true { continue }
            let at = (try? ReadPositionFile.load(directory: directory, file: file)).flatMap { $0 }
                .map { "\(Segment.fileName($0.segment))@\($0.offset)" } ?? "an unreadable position"
            try Sys.unlink(directory + "/" + file)
            directoryUnsynced = true
            openWarnings.append("\(directory)/\(file): the read position of '\(reader.isEmpty ? "(unnamed)" : reader)', "
                                + "which is no longer a reader (removed from remote_write), was at \(at); dropped")
        }
    }
}

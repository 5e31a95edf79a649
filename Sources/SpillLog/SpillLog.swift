// SpillLog: the agent's on-disk overflow queue for probe results (DESIGN.md, "Result pipeline").
//
// Layout of the directory:
//   seg-0000000000000001.log, seg-...02.log, ...  append-only segments of framed records
//                                                 (RecordFormat.swift), oldest = lowest id
//   read-<name>.pos                               a reader's committed position (ReadPositionFile;
//                                                 `read.pos` for a log opened without reader names)
//   lock                                          flock'd by the one owner, holds its pid
//                                                 (SpillDirectoryLock.swift); never deleted
//   dead-letter/                                  refused requests (the shipper's DeadLetterBox)
//   anything else                                 skipped with a warning (`openWarnings`), never
//                                                 read, written or deleted
//
// One owner: the lock is taken before anything in the directory is read or written, and held
// until close() or deinit, so a second agent (or a second SpillLog in this process) on the same
// directory fails with `SpillError.locked` and changes nothing.
//
// Data structure in memory: `segments`, an array of per-segment counters (Segment.swift)
// ordered by id; the last one is the write segment. `readers` (SpillLog+Readers.swift), one
// per consumer (a remote_write endpoint), each with two positions: `committed` (persisted;
// everything before it was acknowledged) and `cursor` (how far `read` has handed records out).
// Appends go to the end of the last segment with positional writes; reads scan forward from
// a reader's cursor with a SegmentScanner; a commit moves that reader's `committed`, saves it,
// and deletes segments wholly behind every reader. Caps drop whole segments from the front,
// counting per reader what it had not committed.
//
// Costs: append O(bytes) (encode + CRC + one pwrite per segment touched per batch); cap checks
// O(1) per record; read O(bytes read) in 256 KiB preads; commit O(1) plus two fsyncs; open
// O(bytes on disk) -- every segment is scanned once to count records, find corrupt ranges and
// cut a torn tail (about 1-2 s per GiB).
//
// Threading: a SpillLog is NOT thread-safe and not Sendable. It has a single owner that drives
// it from one thread at a time; the result pipeline runs it on its own dedicated thread, never
// on Swift's cooperative pool, because every call does blocking file I/O.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// An append-only, crash-safe log of opaque records in segment files, read oldest first with
/// acknowledged (committed) progress that survives restarts.
///
/// Single owner, one thread at a time; every method may block on disk I/O.
public final class SpillLog {
    public let directory: String
    public let options: SpillOptions

    var segments: [Segment] = []
    var nextID: UInt64 = 1
    /// One per name given at open, in that order (never empty).
    var readers: [LogReader]
    /// Open descriptor of the last segment for appends, -1 until needed.
    var writeFD: Int32 = -1
    let directoryFD: Int32
    var writeUnsynced = false
    var directoryUnsynced = false
    var lastSyncNanos: Int64?
    var totalRecords = 0
    var diskBytes = 0
    var counters = SpillStats()
    var isClosed = false
    /// Items a record's payload stands for (SpillEntry.weight), for records read from disk.
    let weigh: (UnsafeRawBufferPointer) -> Int
    /// The directory's lock; released at close when this log took it itself (`ownsLock`).
    let lock: SpillDirectoryLock
    let ownsLock: Bool

    /// What recovery skipped at open, one line each naming the file and why: foreign files,
    /// out-of-range segment names, directories or symlinks named like segments. They are left in
    /// place. The owner logs them.
    public internal(set) var openWarnings: [String] = []
    /// What open changed that is worth a line in the owner's log but is no problem (a read
    /// position taken over from a one-store release).
    public internal(set) var openNotices: [String] = []

    /// Opens (creating if needed) the spill log in `directory` and recovers it: scans every
    /// segment, cuts a torn tail, counts corrupt ranges, resumes at the saved read position.
    ///
    /// - Parameters:
    ///   - directory: the log's own directory; its parent must exist.
    ///   - options: segment size, caps and fsync policy.
    ///   - readers: the names of the log's readers (SpillLog+Readers.swift), each valid
    ///     (``isValidReaderName(_:)``) and unique; `[""]` (the default): one nameless reader
    ///     whose position is `read.pos`.
    ///   - weigh: the items a record's payload stands for (its SpillEntry.weight when it was
    ///     appended); counts, caps' drop counts and positions' ordinals are in items.
    ///   - lock: the directory's lock, taken earlier by the caller, who keeps it (this log holds
    ///     a reference and never releases it). Nil: the log takes the lock itself, before it
    ///     reads or writes anything in the directory, and releases it at ``close()`` or deinit.
    /// - Throws: ``SpillError/locked(directory:holderPID:)`` when another owner holds the
    ///   directory (nothing is touched then); ``SpillError`` when the directory or a segment
    ///   cannot be read or repaired.
    public init(directory: String, options: SpillOptions = SpillOptions(), lock: SpillDirectoryLock? = nil,
                readers names: [String] = [""], weigh: @escaping (UnsafeRawBufferPointer) -> Int = { _ in 1 }) throws {
        self.weigh = weigh
        precondition(options.segmentBytes > 0 && options.maxBytes > 0, "segmentBytes and maxBytes must be positive")
        precondition(names == [""] || (!names.isEmpty && names.allSatisfy(Self.isValidReaderName) && Set(names).count == names.count),
                     "reader names must be valid and unique: \(names)")
        readers = names.map { LogReader(name: $0, at: SpillPosition(segment: 1, offset: 0, ordinal: 0)) }
        self.directory = directory
        self.options = options
        let held: SpillDirectoryLock
        if let lock {
            precondition(lock.isHeld && lock.covers(directory),
                         "the SpillDirectoryLock given for \(directory) is released or locks \(lock.directory)")
            held = lock
        } else {
            held = try SpillDirectoryLock(directory: directory)
        }
        self.lock = held
        ownsLock = lock == nil
        do {
            directoryFD = try Sys.open(directory, O_RDONLY | O_DIRECTORY)
        } catch {
            if lock == nil { held.release() }
            throw error
        }
        do {
            try recover()
        } catch {
            // Once, here: deinit still runs for a class whose init throws after every stored
            // property is set, and closing directoryFD there again closed whatever descriptor
            // the process had opened under that number meanwhile (the agent died with SIGILL at
            // stop after a spill log that could not be opened).
            closeDescriptors()
            isClosed = true
            throw error
        }
    }

    deinit {
        // Best effort for an owner that forgot close(): release descriptors, no fsync.
        if !isClosed { closeDescriptors() }
    }

    /// Flushes (unless the policy is `.never`), saves the read positions and closes the files.
    /// The log cannot be used afterwards.
    public func close() throws {
        guard !isClosed else { return }
        defer {
            closeDescriptors()
            isClosed = true
        }
        if options.fsync != .never { try sync() }
        for r in readers.indices { try savePosition(reader: r) }
    }

    /// Current counters and gauges; the pending figures are the laggard reader's (what some
    /// reader still needs), `readers` has each one's.
    public var stats: SpillStats {
        var s = counters
        s.bytesOnDisk = diskBytes
        s.segments = segments.count
        s.readers = readers.indices.map { r in
            ReaderStats(name: readers[r].name, pendingRecords: pendingRecords(reader: r),
                        oldestPendingTimestampNanos: oldestPendingTimestamp(reader: r), droppedRecords: readers[r].dropped)
        }
        let laggard = s.readers[laggard]
        s.pendingRecords = laggard.pendingRecords
        s.oldestPendingTimestampNanos = laggard.oldestPendingTimestampNanos
        return s
    }

    // MARK: - Shared helpers

    func path(_ id: UInt64) -> String { directory + "/" + Segment.fileName(id) }

    func index(of id: UInt64) -> Int? {
        // Ids are sorted; segments are few (maxBytes / segmentBytes), a linear scan from the
        // front finds the common cases (head, write segment) quickly enough.
        segments.firstIndex { $0.id == id }
    }

    func checkOpen() throws {
        if isClosed { throw SpillError.closed }
    }

    /// fsyncs the write segment and the directory if they have unsynced changes.
    func sync() throws {
        if writeUnsynced, writeFD >= 0, let last = segments.last {
            try Sys.fsync(writeFD, path(last.id))
        }
        writeUnsynced = false
        if directoryUnsynced {
            try Sys.fsync(directoryFD, directory)
            directoryUnsynced = false
        }
    }

    /// Keeps every reader's `committed` and `cursor` inside the existing segments after
    /// segments vanished.
    func normalizePositions() {
        func fix(_ p: SpillPosition) -> SpillPosition {
            guard let first = segments.first, let last = segments.last else {
                return SpillPosition(segment: nextID, offset: 0, ordinal: 0)
            }
            if p.segment < first.id { return SpillPosition(segment: first.id, offset: 0, ordinal: 0) }
            if p.segment > last.id { return SpillPosition(segment: last.id, offset: last.size, ordinal: last.records) }
            return p
        }
        for r in readers.indices {
            readers[r].committed = fix(readers[r].committed)
            readers[r].cursor = fix(readers[r].cursor)
            if readers[r].cursor.isBefore(readers[r].committed) { readers[r].cursor = readers[r].committed }
            if let scan = readers[r].scan, scan.segment != readers[r].cursor.segment || index(of: scan.segment) == nil {
                closeReader(r)
            }
        }
    }

    func closeReader(_ r: Int) {
        if let scan = readers[r].scan { Sys.close(scan.fd) }
        readers[r].scan = nil
    }

    /// Forgets every reader's cached head timestamp (the head or the log changed).
    func forgetHeadTimestamps() {
        for r in readers.indices { readers[r].headTimestamp = nil }
    }

    func closeDescriptors() {
        for r in readers.indices { closeReader(r) }
        if writeFD >= 0 { Sys.close(writeFD) }
        writeFD = -1
        Sys.close(directoryFD)
        // Last: nothing in the directory is touched after another owner may have it.
        if ownsLock { lock.release() }
    }
}

// Appending: batching, segment rotation, the byte cap, and rollback on a refused write.
//
// A batch is encoded into one buffer per segment it lands in and written with one positional
// write (pwrite at the segment's known size), so a failed or partial write never moves the
// end of the log: on any error every segment the batch touched is truncated back to its size
// before the batch and segments it created are deleted, then the error is thrown. A batch is
// therefore all or nothing -- except that records the byte cap dropped to make room stay
// dropped. Once space returns, the next append simply writes again at the same offset.
//
// Byte cap: before each record, if the log would exceed `maxBytes`, whole segments are dropped
// from the front (oldest first) and their pending records counted, per reader (a reader that
// had committed past a dropped segment loses nothing; one that had not loses its records). The write segment is only
// dropped when it is the only one (it is sealed first and a fresh one started). A single record
// larger than the cap on an empty log is still written (the cap is exceeded by that record).
// Cost per record: O(1) checks; per batch: one pwrite per segment touched, plus fsyncs by policy.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension SpillLog {
    /// What to undo if a batch fails.
    struct AppendUndo {
        var first: (id: UInt64, size: Int, records: Int, newest: Int64)?
        var created: [UInt64] = []
    }

    /// Appends a batch of records, oldest first; all of them or none (see the file comment).
    ///
    /// - Parameter entries: payloads (each at most 1 MiB) with their timestamps.
    /// - Throws: ``SpillError/recordTooLarge(size:limit:)`` before writing anything;
    ///   ``SpillError/diskFull(path:)``, ``SpillError/readOnly(path:)``,
    ///   ``SpillError/ioFailure(path:operation:)`` or ``SpillError/system(path:operation:errno:)``
    ///   when the disk refuses, with the log rolled back to where it was.
    /// - Returns: the log's end after the batch (commit through it once the batch is delivered).
    @discardableResult
    public func append(_ entries: [SpillEntry]) throws -> SpillPosition {
        try checkOpen()
        for entry in entries where entry.payload.count > RecordFormat.maxPayload {
            throw SpillError.recordTooLarge(size: entry.payload.count, limit: RecordFormat.maxPayload)
        }
        guard !entries.isEmpty else { return endPosition }
        var undo = AppendUndo()
        if let last = segments.last {
            undo.first = (last.id, last.size, last.records, last.newestNanos)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(min(entries.reduce(0) { $0 + RecordFormat.size(payload: $1.payload.count) }, options.segmentBytes))
        var bufferRecords = 0
        var bufferNewest = Int64.min
        func flush() throws {
            guard !buffer.isEmpty else { return }
            try writeToLast(buffer, records: bufferRecords, newest: bufferNewest)
            buffer.removeAll(keepingCapacity: true)
            bufferRecords = 0
            bufferNewest = .min
        }
        do {
            for entry in entries {
                let size = RecordFormat.size(payload: entry.payload.count)
                let current = (segments.last?.size ?? 0) + buffer.count
                if segments.isEmpty || (current > 0 && current + size > options.segmentBytes) {
                    try flush()
                    try startSegment(&undo)
                }
                if diskBytes + buffer.count + size > options.maxBytes {
                    try flush()
                    try makeRoom(for: size, &undo)
                }
                entry.payload.withUnsafeBytes {
                    RecordFormat.encode(payload: $0, timestamp: entry.timestampNanos, into: &buffer)
                }
                bufferRecords += max(1, entry.weight)
                bufferNewest = max(bufferNewest, entry.timestampNanos)
            }
            try flush()
            if options.fsync == .always { try sync() }
        } catch {
            rollBack(undo)
            throw error
        }
        for r in readers.indices where readers[r].headTimestamp == .some(nil) { readers[r].headTimestamp = nil }
        return endPosition
    }

    /// Writes encoded records at the end of the last segment and updates its counters.
    private func writeToLast(_ bytes: [UInt8], records: Int, newest: Int64) throws {
        let i = segments.count - 1
        let path = path(segments[i].id)
        if writeFD < 0 { writeFD = try Sys.open(path, O_WRONLY) }
        writeUnsynced = true
        do {
            try bytes.withUnsafeBytes { try Sys.pwriteAll(writeFD, $0, at: segments[i].size, path) }
        } catch {
            // Cut off whatever part of the records reached the file.
            try? Sys.ftruncate(writeFD, segments[i].size, path)
            throw error
        }
        segments[i].size += bytes.count
        segments[i].records += records
        segments[i].newestNanos = max(segments[i].newestNanos, newest)
        totalRecords += records
        diskBytes += bytes.count
    }

    /// Seals the write segment (fsynced unless the policy is `.never`) and creates the next.
    func startSegment(_ undo: inout AppendUndo) throws {
        if writeFD >= 0 {
            if options.fsync != .never, writeUnsynced, let last = segments.last {
                try Sys.fsync(writeFD, path(last.id))
            }
            Sys.close(writeFD)
            writeFD = -1
            writeUnsynced = false
        }
        let id = nextID
        // Past maxID a segment is skipped at the next open: its records would be lost, and the
        // open after that would truncate it to number a new one.
        guard id <= Segment.maxID else { throw SpillError.segmentIDsExhausted(directory: directory) }
        let fd = try Sys.open(path(id), O_WRONLY | O_CREAT | O_TRUNC)
        nextID += 1
        writeFD = fd
        directoryUnsynced = true
        segments.append(Segment(id: id))
        undo.created.append(id)
        normalizePositions()
        // A sealed segment that was already read and committed to its end is done with.
        try dropConsumedSegments()
    }

    /// Drops oldest segments until `size` more bytes fit under the byte cap.
    private func makeRoom(for size: Int, _ undo: inout AppendUndo) throws {
        while diskBytes + size > options.maxBytes, let last = segments.last {
            if segments.count == 1 {
                guard last.size > 0 else { return } // nothing left to drop: exceed the cap
                try startSegment(&undo)
            }
            try dropOldest()
        }
    }

    /// Deletes the oldest segment, counting its pending records as dropped (per reader, and
    /// log-wide the most any reader lost).
    func dropOldest() throws {
        let segment = segments[0]
        try Sys.unlink(path(segment.id))
        directoryUnsynced = true
        if segments.count == 1, writeFD >= 0 {
            Sys.close(writeFD)
            writeFD = -1
            writeUnsynced = false
        }
        counters.droppedRecords += countDrop(of: segment)
        counters.droppedSegments += 1
        segments.removeFirst()
        totalRecords -= segment.records
        diskBytes -= segment.size
        forgetHeadTimestamps()
        normalizePositions()
    }

    /// Undoes a failed batch (best effort: errors while undoing are ignored, positional
    /// writes make the next append overwrite whatever a failed truncate left behind).
    private func rollBack(_ undo: AppendUndo) {
        for id in undo.created.reversed() {
            guard let i = index(of: id) else { continue }
            if i == segments.count - 1, writeFD >= 0 {
                Sys.close(writeFD)
                writeFD = -1
            }
            try? Sys.unlink(path(id))
            totalRecords -= segments[i].records
            diskBytes -= segments[i].size
            segments.remove(at: i)
        }
        if let first = undo.first, let i = index(of: first.id) {
            if segments[i].size != first.size {
                if let fd = try? Sys.open(path(first.id), O_WRONLY) {
                    try? Sys.ftruncate(fd, first.size, path(first.id))
                    Sys.close(fd)
                }
                totalRecords -= segments[i].records - first.records
                diskBytes -= segments[i].size - first.size
                segments[i].size = first.size
                segments[i].records = first.records
                segments[i].newestNanos = first.newest
            }
        }
        forgetHeadTimestamps()
        normalizePositions()
    }
}

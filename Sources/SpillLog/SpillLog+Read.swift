// Reading and acknowledging: read(max:) hands out records from the cursor, commit(through:)
// moves the persisted position, rewind() goes back to it.
//
// The cursor runs ahead of the committed position by whatever was read but not yet
// acknowledged; only commits are saved, so after a crash or restart unacknowledged records
// are delivered again (at-least-once). The reader keeps one open descriptor and one
// SegmentScanner (256 KiB window) on the cursor's segment. Garbage met while reading that was
// not already counted at open (corruption that appeared later) is counted here.
// Costs: read O(bytes returned) plus a Data copy per payload; commit O(1) + one position save
// (two fsyncs unless `.never`) + one unlink per segment it finishes.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension SpillLog {
    /// Up to `max` records from the read cursor, oldest first; fewer (or none) when the log
    /// holds no more. Advances the cursor but not the committed position.
    public func read(max: Int) throws -> [SpillRecord] {
        try checkOpen()
        var out: [SpillRecord] = []
        while out.count < max {
            normalizePositions()
            guard let i = index(of: cursor.segment) else { break }
            let segment = segments[i]
            if reader == nil {
                let path = path(segment.id)
                let fd = try Sys.open(path, O_RDONLY)
                reader = (segment.id, fd, SegmentScanner(fd: fd, path: path, from: cursor.offset, limit: segment.size))
            }
            reader!.scanner.limit = segment.size
            guard let event = try reader!.scanner.next() else {
                guard i + 1 < segments.count else { break } // the write segment: no more yet
                closeReader()
                cursor = SpillPosition(segment: segments[i + 1].id, offset: 0, ordinal: 0)
                continue
            }
            switch event {
            case .record(let offset, let size, let timestamp, let payload):
                let bytes = reader!.scanner.payload(payload)
                let weight = bytes.withUnsafeBytes { Swift.max(1, weigh($0)) }
                cursor = SpillPosition(segment: segment.id, offset: offset + size, ordinal: cursor.ordinal + weight)
                out.append(SpillRecord(payload: bytes, timestampNanos: timestamp, position: cursor))
            case .garbage(let offset, let length, _):
                if !segments[i].knownGarbage.contains(offset) {
                    segments[i].knownGarbage.insert(offset)
                    counters.corruptRecords += 1
                    counters.corruptBytes += length
                }
                cursor = SpillPosition(segment: segment.id, offset: offset + length, ordinal: cursor.ordinal)
            }
        }
        return out
    }

    /// Acknowledges every record up to and including the one that ends at `position`: saves
    /// the position (atomically, see ReadPositionFile) and deletes segments wholly behind it.
    /// Positions at or before the committed one are ignored.
    public func commit(through position: SpillPosition) throws {
        try checkOpen()
        guard committed.isBefore(position), index(of: position.segment) != nil else { return }
        committed = position
        if cursor.isBefore(committed) {
            cursor = committed
            closeReader()
        }
        headTimestamp = nil
        try dropConsumedSegments()
        try savePosition()
    }

    /// Moves the read cursor forward to `position` (the records before it are held elsewhere,
    /// e.g. in a read cache of the log's tail); positions at or before the cursor are ignored.
    public func skip(to position: SpillPosition) {
        guard cursor.isBefore(position), index(of: position.segment) != nil else { return }
        cursor = position
        closeReader()
    }

    /// Where the next append will go (the log's end).
    public var endPosition: SpillPosition {
        guard let last = segments.last else { return SpillPosition(segment: nextID, offset: 0, ordinal: 0) }
        return SpillPosition(segment: last.id, offset: last.size, ordinal: last.records)
    }

    /// Moves the read cursor back to the committed position, so unacknowledged records are
    /// read again (after a failed delivery).
    public func rewind() {
        cursor = committed
        closeReader()
    }

    /// Deletes segments before the committed position and a sealed segment committed to its
    /// end. The write segment is kept even when fully read. The caller saves the position.
    func dropConsumedSegments() throws {
        while segments.count > 1 {
            let first = segments[0]
            if committed.segment == first.id, committed.offset < first.size { break }
            if committed.segment == first.id {
                committed = SpillPosition(segment: segments[1].id, offset: 0, ordinal: 0)
            }
            // Unlink before saving the position: it frees space on a full disk, and a saved
            // position naming a deleted segment means "start of the next one" to recovery,
            // which is exactly right here.
            try Sys.unlink(path(first.id))
            directoryUnsynced = true
            segments.removeFirst()
            totalRecords -= first.records
            diskBytes -= first.size
            normalizePositions()
        }
    }

    /// Writes `committed` to read.pos unless it is already there.
    func savePosition() throws {
        if let saved = savedPosition, saved.segment == committed.segment, saved.offset == committed.offset { return }
        try ReadPositionFile.save(segment: committed.segment, offset: committed.offset, directory: directory,
                                  directoryFD: directoryFD, durable: options.fsync != .never)
        savedPosition = (committed.segment, committed.offset)
    }

    /// Timestamp of the first pending record (cached until the head moves).
    func oldestPendingTimestamp() -> Int64? {
        if let cached = headTimestamp { return cached }
        var found: Int64?
        var position = committed
        search: while let i = index(of: position.segment) {
            let path = path(segments[i].id)
            guard let fd = try? Sys.open(path, O_RDONLY) else { break }
            defer { Sys.close(fd) }
            var scanner = SegmentScanner(fd: fd, path: path, from: position.offset, limit: segments[i].size, chunk: 4096)
            while let event = try? scanner.next() {
                if case .record(_, _, let timestamp, _) = event {
                    found = timestamp
                    break search
                }
            }
            guard i + 1 < segments.count else { break }
            position = SpillPosition(segment: segments[i + 1].id, offset: 0, ordinal: 0)
        }
        headTimestamp = .some(found)
        return found
    }
}

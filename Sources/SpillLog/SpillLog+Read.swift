// Reading and acknowledging, per reader (SpillLog+Readers.swift; `reader:` is its index,
// 0 by default): read(max:) hands out records from the reader's cursor, commit(through:) moves
// its persisted position, rewind() goes back to it.
//
// The cursor runs ahead of the committed position by whatever was read but not yet
// acknowledged; only commits are saved, so after a crash or restart unacknowledged records
// are delivered again (at-least-once). Each reader keeps one open descriptor and one
// SegmentScanner (256 KiB window) on its cursor's segment. Garbage met while reading that was
// not already counted at open (corruption that appeared later) is counted here.
// Costs: read O(bytes returned) plus a Data copy per payload; commit O(readers) + one position
// save (two fsyncs unless `.never`) + one unlink per segment every reader has finished.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension SpillLog {
    /// Up to `max` records from the read cursor, oldest first; fewer (or none) when the log
    /// holds no more. Advances the cursor but not the committed position.
    public func read(max: Int, reader r: Int = 0) throws -> [SpillRecord] {
        try checkOpen()
        var out: [SpillRecord] = []
        while out.count < max {
            normalizePositions()
            let cursor = readers[r].cursor
            guard let i = index(of: cursor.segment) else { break }
            let segment = segments[i]
            if readers[r].scan == nil {
                let path = path(segment.id)
                let fd = try Sys.open(path, O_RDONLY)
                readers[r].scan = (segment.id, fd, SegmentScanner(fd: fd, path: path, from: cursor.offset, limit: segment.size))
            }
            readers[r].scan!.scanner.limit = segment.size
            guard let event = try readers[r].scan!.scanner.next() else {
                guard i + 1 < segments.count else { break } // the write segment: no more yet
                closeReader(r)
                readers[r].cursor = SpillPosition(segment: segments[i + 1].id, offset: 0, ordinal: 0)
                continue
            }
            switch event {
            case .record(let offset, let size, let timestamp, let payload):
                let bytes = readers[r].scan!.scanner.payload(payload)
                let weight = bytes.withUnsafeBytes { Swift.max(1, weigh($0)) }
                let end = SpillPosition(segment: segment.id, offset: offset + size, ordinal: cursor.ordinal + weight)
                readers[r].cursor = end
                out.append(SpillRecord(payload: bytes, timestampNanos: timestamp, position: end))
            case .garbage(let offset, let length, _):
                if !segments[i].knownGarbage.contains(offset) {
                    segments[i].knownGarbage.insert(offset)
                    counters.corruptRecords += 1
                    counters.corruptBytes += length
                }
                readers[r].cursor = SpillPosition(segment: segment.id, offset: offset + length, ordinal: cursor.ordinal)
            }
        }
        return out
    }

    /// Acknowledges, for reader `r`, every record up to and including the one that ends at
    /// `position`: saves its position (atomically, see ReadPositionFile) and deletes segments
    /// wholly behind every reader. Positions at or before its committed one are ignored.
    public func commit(through position: SpillPosition, reader r: Int = 0) throws {
        try checkOpen()
        guard readers[r].committed.isBefore(position), index(of: position.segment) != nil else { return }
        readers[r].committed = position
        if readers[r].cursor.isBefore(position) {
            readers[r].cursor = position
            closeReader(r)
        }
        readers[r].headTimestamp = nil
        try dropConsumedSegments()
        try savePosition(reader: r)
    }

    /// Moves reader `r`'s cursor forward to `position` (the records before it are held
    /// elsewhere, e.g. in a read cache of the log's tail); positions at or before the cursor
    /// are ignored.
    public func skip(to position: SpillPosition, reader r: Int = 0) {
        guard readers[r].cursor.isBefore(position), index(of: position.segment) != nil else { return }
        readers[r].cursor = position
        closeReader(r)
    }

    /// Where the next append will go (the log's end).
    public var endPosition: SpillPosition {
        guard let last = segments.last else { return SpillPosition(segment: nextID, offset: 0, ordinal: 0) }
        return SpillPosition(segment: last.id, offset: last.size, ordinal: last.records)
    }

    /// Moves reader `r`'s cursor back to its committed position, so unacknowledged records
    /// are read again (after a failed delivery).
    public func rewind(reader r: Int = 0) {
        readers[r].cursor = readers[r].committed
        closeReader(r)
    }

    /// Deletes the oldest segments while every reader has committed through them (the write
    /// segment is kept even when fully read). The caller saves the positions.
    func dropConsumedSegments() throws {
        while segments.count > 1 {
            let first = segments[0]
            guard everyReaderDone(with: first) else { break }
            for r in readers.indices where readers[r].committed.segment == first.id {
                readers[r].committed = SpillPosition(segment: segments[1].id, offset: 0, ordinal: 0)
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

    /// Writes reader `r`'s `committed` to its position file unless it is already there.
    func savePosition(reader r: Int) throws {
        let committed = readers[r].committed
        if let saved = readers[r].saved, saved.segment == committed.segment, saved.offset == committed.offset { return }
        try ReadPositionFile.save(segment: committed.segment, offset: committed.offset, directory: directory,
                                  file: readers[r].fileName, directoryFD: directoryFD, durable: options.fsync != .never)
        readers[r].saved = (committed.segment, committed.offset)
    }

    /// Timestamp of reader `r`'s first pending record (cached until its head moves).
    func oldestPendingTimestamp(reader r: Int) -> Int64? {
        if let cached = readers[r].headTimestamp { return cached }
        var found: Int64?
        var position = readers[r].committed
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
        readers[r].headTimestamp = .some(found)
        return found
    }
}

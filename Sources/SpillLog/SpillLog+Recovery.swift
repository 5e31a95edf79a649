// Open-time recovery: rebuild the in-memory segment table from the files, repair them, and
// resume at the saved read position.
//
// Steps: list the directory (names other than seg-<16 hex>.log are ignored); load read.pos;
// delete segments older than the saved one (wholly committed before a crash cut the cleanup
// short); scan each remaining segment once with a SegmentScanner, counting records, newest
// timestamp and garbage ranges. Garbage running to the end of the LAST segment is a torn tail
// (a write cut short by SIGKILL or power loss): it is truncated away and counted in
// `tornTailBytes`. Garbage at the end of an older segment, or between records anywhere, is
// corruption: counted in `corruptRecords`/`corruptBytes` (only where it lies in unread data)
// and skipped (a trailing range is truncated too). The saved offset is snapped forward to the
// first record boundary at or after it, and clamped to the end of the segment.
// Cost: O(bytes on disk) reads and CRC, 1 MiB window; O(segments) memory.

#if canImport(Glibc)
import Glibc
#endif

extension SpillLog {
    func recover() throws {
        let names = try Sys.listDirectory(directory)
        if names.contains(ReadPositionFile.tempName) {
            try? Sys.unlink(directory + "/" + ReadPositionFile.tempName)
        }
        var ids = names.compactMap(Segment.id(fromFileName:)).sorted()
        let saved = try ReadPositionFile.load(directory: directory)
        if let saved {
            for id in ids where id < saved.segment {
                try Sys.unlink(path(id))
                directoryUnsynced = true
            }
            ids.removeAll { $0 < saved.segment }
        }
        var start = SpillPosition(segment: ids.first ?? 0, offset: 0, ordinal: 0)
        for (i, id) in ids.enumerated() {
            let savedOffset = (saved?.segment == id) ? saved!.offset : nil
            let (segment, snapped) = try scan(id: id, isLast: i == ids.count - 1, savedOffset: savedOffset)
            if let snapped { start = snapped }
            if segment.size == 0, i != ids.count - 1 {
                // An empty older segment holds nothing; keep only the last (it takes appends).
                try Sys.unlink(path(id))
                directoryUnsynced = true
                continue
            }
            segments.append(segment)
            totalRecords += segment.records
            diskBytes += segment.size
        }
        nextID = max((segments.last?.id ?? 0) + 1, saved?.segment ?? 1, 1)
        if segments.isEmpty || start.segment != segments.first!.id {
            start = SpillPosition(segment: segments.first?.id ?? nextID, offset: 0, ordinal: 0)
        }
        committed = start
        cursor = start
        // What read.pos says now, or what its absence means ("from the oldest"): either way
        // nothing needs saving until a commit moves the position.
        savedPosition = saved ?? (start.segment, start.offset)
    }

    /// Scans one segment; returns its table entry and, when `savedOffset` is given, the
    /// resume position snapped to a record boundary.
    private func scan(id: UInt64, isLast: Bool, savedOffset: Int?) throws -> (Segment, SpillPosition?) {
        let path = path(id)
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        let fileSize = try Sys.fileSize(fd, path)
        var scanner = SegmentScanner(fd: fd, path: path, from: 0, limit: fileSize, chunk: 1 << 20)
        var segment = Segment(id: id)
        var validEnd = fileSize
        var resume: SpillPosition?
        while let event = try scanner.next() {
            switch event {
            case .record(let offset, _, let timestamp, let payload):
                if let s = savedOffset, resume == nil, offset >= s {
                    resume = SpillPosition(segment: id, offset: offset, ordinal: segment.records)
                }
                segment.records += scanner.payload(payload).withUnsafeBytes { max(1, weigh($0)) }
                segment.newestNanos = max(segment.newestNanos, timestamp)
            case .garbage(let offset, let length, let atEnd):
                if atEnd { validEnd = offset }
                if atEnd && isLast {
                    counters.tornTailBytes += length
                } else if offset + length > (savedOffset ?? 0) {
                    counters.corruptRecords += 1
                    counters.corruptBytes += length
                }
                if !atEnd { segment.knownGarbage.insert(offset) }
            }
        }
        validEnd = min(validEnd, scanner.limit)
        if validEnd < fileSize {
            let wfd = try Sys.open(path, O_WRONLY)
            defer { Sys.close(wfd) }
            try Sys.ftruncate(wfd, validEnd, path)
        }
        segment.size = validEnd
        if savedOffset != nil, resume == nil {
            resume = SpillPosition(segment: id, offset: validEnd, ordinal: segment.records)
        }
        return (segment, resume)
    }
}

// Open-time recovery: rebuild the in-memory segment table from the files, repair them, and
// resume at the saved read position.
//
// Steps: list the directory and sort out its entries (below); load read.pos;
// delete segments older than the saved one (wholly committed before a crash cut the cleanup
// short); scan each remaining segment once with a SegmentScanner, counting records, newest
// timestamp and garbage ranges. Garbage running to the end of the LAST segment is a torn tail
// (a write cut short by SIGKILL or power loss): it is truncated away and counted in
// `tornTailBytes`. Garbage at the end of an older segment, or between records anywhere, is
// corruption: counted in `corruptRecords`/`corruptBytes` (only where it lies in unread data)
// and skipped (a trailing range is truncated too). The saved offset is snapped forward to the
// first record boundary at or after it, and clamped to the end of the segment.
// Cost: O(bytes on disk) reads and CRC, 1 MiB window; O(segments) memory.
//
// Entries: regular files named seg-<16 lowercase hex>.log with an id in 1...Segment.maxID are
// segments; read.pos, read.pos.tmp, lock and the dead-letter directory are the log's own. All
// else -- foreign files, out-of-range segment names, a directory or symlink named like a
// segment -- is skipped with a line in `openWarnings` and never read, written or deleted. New
// segments are numbered after every segment-like name, skipped ones included, so creating one
// never truncates a foreign file (or a symlink's target).

#if canImport(Glibc)
import Glibc
#endif

extension SpillLog {
    func recover() throws {
        let names = try Sys.listDirectory(directory).sorted()
        if names.contains(ReadPositionFile.tempName) {
            try? Sys.unlink(directory + "/" + ReadPositionFile.tempName)
        }
        let entries = try sortOutEntries(names)
        var ids = entries.ids
        var saved = try ReadPositionFile.load(directory: directory)
        if let s = saved, s.segment == 0 || s.segment > Segment.maxID {
            openWarnings.append("\(directory)/\(ReadPositionFile.name): ignored, segment id \(s.segment) is out of range; reading from the oldest record")
            saved = nil
        }
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
        nextID = max((segments.last?.id ?? 0) + 1, entries.highest + 1, saved?.segment ?? 1, 1)
        if segments.isEmpty || start.segment != segments.first!.id {
            start = SpillPosition(segment: segments.first?.id ?? nextID, offset: 0, ordinal: 0)
        }
        committed = start
        cursor = start
        // What read.pos says now, or what its absence means ("from the oldest"): either way
        // nothing needs saving until a commit moves the position.
        savedPosition = saved ?? (start.segment, start.offset)
    }

    /// Segment ids to scan (sorted), and the highest id any segment-like name uses (skipped
    /// ones included; 0 when none). Records a warning for every entry skipped.
    private func sortOutEntries(_ names: [String]) throws -> (ids: [UInt64], highest: UInt64) {
        var ids: [UInt64] = []
        var highest: UInt64 = 0
        for name in names {
            func skip(_ why: String) { openWarnings.append("\(directory)/\(name): skipped, \(why); left in place") }
            switch Segment.kind(ofFileName: name) {
            case .segment(let id):
                highest = max(highest, id)
                guard let type = try Sys.entryType(directoryFD, name, in: directory) else { continue } // gone since the listing
                switch type {
                case S_IFREG: ids.append(id)
                case S_IFDIR: skip("a directory named like a segment")
                case S_IFLNK: skip("a symlink named like a segment (segments must be regular files)")
                default: skip("not a regular file, though named like a segment")
                }
            case .badSegment(let why):
                skip(why)
            case .other:
                switch name {
                case ReadPositionFile.name, ReadPositionFile.tempName, SpillDirectoryLock.fileName:
                    continue
                case "dead-letter":
                    if let type = try Sys.entryType(directoryFD, name, in: directory), type != S_IFDIR {
                        skip("dead-letter should be the directory of refused requests")
                    }
                default:
                    skip("not a spill log file")
                }
            }
        }
        return (ids.sorted(), highest)
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

// Open-time recovery: rebuild the in-memory segment table from the files, repair them, and
// resume at the saved read position.
//
// Steps: list the directory and sort out its entries (below); load every reader's position
// (SpillLog+Readers.swift); delete segments older than every saved one (wholly committed
// before a crash cut the cleanup short); scan each remaining segment once with a SegmentScanner, counting records, newest
// timestamp and garbage ranges. Garbage running to the end of the LAST segment is a torn tail
// (a write cut short by SIGKILL or power loss): it is truncated away and counted in
// `tornTailBytes`. Garbage at the end of an older segment, or between records anywhere, is
// corruption: counted in `corruptRecords`/`corruptBytes` (only where it lies in unread data)
// and skipped (a trailing range is truncated too). The saved offset is snapped forward to the
// first record boundary at or after it, and clamped to the end of the segment. Last, `read.pos` of
// a one-store release becomes the first named reader's, and position files of readers no
// longer given are deleted (each named in `openWarnings`).
// Cost: O(bytes on disk) reads and CRC, 1 MiB window; O(segments) memory.
//
// Entries: regular files named seg-<16 lowercase hex>.log with an id in 1...Segment.maxID are
// segments; read.pos, read-<name>.pos, their .tmp files, lock and the dead-letter directory are
// the log's own. All
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
        let entries = try sortOutEntries(names)
        var ids = entries.ids
        let saved = try loadPositions(names)
        // Segments before every reader's saved one were committed by all before a crash cut
        // the cleanup short. A reader without a position reads from the oldest: keep them all.
        let everyReaderSaved = !saved.contains { $0 == nil }
        if everyReaderSaved, let oldest = saved.compactMap({ $0?.segment }).min() {
            for id in ids where id < oldest {
                try Sys.unlink(path(id))
                directoryUnsynced = true
            }
            ids.removeAll { $0 < oldest }
        }
        var snapped: [SpillPosition?] = Array(repeating: nil, count: readers.count)
        for (i, id) in ids.enumerated() {
            let offsets = saved.map { $0?.segment == id ? $0!.offset : nil }
            // Corruption counts where some reader has not read yet.
            let unreadFrom = saved.map { s in s.map { $0.segment < id ? 0 : $0.segment == id ? $0.offset : Int.max } ?? 0 }.min() ?? 0
            let (segment, resume) = try scan(id: id, isLast: i == ids.count - 1, savedOffsets: offsets, unreadFrom: unreadFrom)
            for r in readers.indices where resume[r] != nil { snapped[r] = resume[r] }
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
        let savedHighest = saved.compactMap { $0?.segment }.max() ?? 1
        nextID = max((segments.last?.id ?? 0) + 1, entries.highest + 1, savedHighest, 1)
        for r in readers.indices {
            readers[r].committed = startPosition(saved: saved[r], snapped: snapped[r])
            readers[r].cursor = readers[r].committed
            // What its file says now, or what its absence means ("from the oldest"): either
            // way nothing needs saving until a commit moves the position.
            readers[r].saved = saved[r] ?? (readers[r].committed.segment, readers[r].committed.offset)
        }
        try migrateUnnamedPosition(names)
        try dropUnknownPositionFiles(names)
    }

    /// Where a reader resumes: its saved position snapped to a record boundary when its
    /// segment is still there; else (the segment was deleted after the commit) the start of the
    /// next segment; with no saved position, the oldest record.
    private func startPosition(saved: (segment: UInt64, offset: Int)?, snapped: SpillPosition?) -> SpillPosition {
        if let snapped, index(of: snapped.segment) != nil { return snapped }
        let after = saved?.segment ?? 0
        if let next = segments.first(where: { $0.id > after }) { return SpillPosition(segment: next.id, offset: 0, ordinal: 0) }
        if saved == nil, let first = segments.first { return SpillPosition(segment: first.id, offset: 0, ordinal: 0) }
        return segments.last.map { SpillPosition(segment: $0.id, offset: $0.size, ordinal: $0.records) }
            ?? SpillPosition(segment: nextID, offset: 0, ordinal: 0)
    }

    /// Each reader's saved position (nil: none, or out of range — then it reads from the
    /// oldest); the first named reader without a file of its own takes `read.pos` (a log of a
    /// one-store release). Stale temp files go.
    private func loadPositions(_ names: [String]) throws -> [(segment: UInt64, offset: Int)?] {
        for name in names where name.hasSuffix(".pos.tmp") && ReadPositionFile.readerName(ofFile: name) != nil {
            try? Sys.unlink(directory + "/" + name)
        }
        return try readers.indices.map { r in
            var file = readers[r].fileName
            if r == 0, !readers[0].name.isEmpty, !names.contains(file), names.contains(ReadPositionFile.name) {
                file = ReadPositionFile.name
            }
            guard let s = try ReadPositionFile.load(directory: directory, file: file) else { return nil }
            guard s.segment > 0 && s.segment <= Segment.maxID else {
                openWarnings.append("\(directory)/\(file): ignored, segment id \(s.segment) is out of range; reading from the oldest record")
                return nil
            }
            return s
        }
    }

    /// After ``loadPositions(_:)`` gave `read.pos` to the first named reader: its own file is
    /// saved (durably), then `read.pos` removed, so the position is never in neither file. A
    /// `read.pos` beside the first reader's own file is stale (it was migrated before): removed.
    private func migrateUnnamedPosition(_ names: [String]) throws {
        guard let first = readers.first, !first.name.isEmpty, names.contains(ReadPositionFile.name) else { return }
        if !names.contains(first.fileName) {
            readers[0].saved = nil
            try savePosition(reader: 0)
            openNotices.append("\(directory)/\(ReadPositionFile.name): the read position of a one-store release, "
                               + "now reader '\(first.name)''s (\(first.fileName)) at \(readers[0].committed)")
        }
        try Sys.unlink(directory + "/" + ReadPositionFile.name)
        directoryUnsynced = true
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
                case _ where ReadPositionFile.readerName(ofFile: name) != nil, SpillDirectoryLock.fileName:
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

    /// Scans one segment; returns its table entry and, for each reader whose saved offset is
    /// in it (`savedOffsets[r]`), its resume position snapped to a record boundary. Garbage
    /// from `unreadFrom` on is counted as corrupt (before it, every reader had read past it).
    private func scan(id: UInt64, isLast: Bool, savedOffsets: [Int?], unreadFrom: Int) throws -> (Segment, [SpillPosition?]) {
        let path = path(id)
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        let fileSize = try Sys.fileSize(fd, path)
        var scanner = SegmentScanner(fd: fd, path: path, from: 0, limit: fileSize, chunk: 1 << 20)
        var segment = Segment(id: id)
        var validEnd = fileSize
        var resume: [SpillPosition?] = Array(repeating: nil, count: savedOffsets.count)
        while let event = try scanner.next() {
            switch event {
            case .record(let offset, _, let timestamp, let payload):
                for r in resume.indices where resume[r] == nil {
                    if let s = savedOffsets[r], offset >= s {
                        resume[r] = SpillPosition(segment: id, offset: offset, ordinal: segment.records)
                    }
                }
                segment.records += scanner.payload(payload).withUnsafeBytes { max(1, weigh($0)) }
                segment.newestNanos = max(segment.newestNanos, timestamp)
            case .garbage(let offset, let length, let atEnd):
                if atEnd { validEnd = offset }
                if atEnd && isLast {
                    counters.tornTailBytes += length
                } else if offset + length > unreadFrom {
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
        for r in resume.indices where savedOffsets[r] != nil && resume[r] == nil {
            resume[r] = SpillPosition(segment: id, offset: validEnd, ordinal: segment.records)
        }
        return (segment, resume)
    }
}

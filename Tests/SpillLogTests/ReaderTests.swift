import Foundation
import Testing
@testable import SpillLog

/// Several readers of one log (one per remote_write endpoint): each reads and commits on its
/// own, segments go only once every reader is past them, a cap counts per reader what it
/// took, positions persist per name, and a one-store release's `read.pos` is taken over.
@Suite struct ReaderTests {
    // 60-byte records, 10 per segment.
    let small = SpillOptions(segmentBytes: 600, maxBytes: 1 << 20, fsync: .never)

    /// Reads everything pending for reader `r`, committing as it goes; the record numbers.
    func drain(_ log: SpillLog, reader r: Int, batch: Int = 4) throws -> [Int] {
        var out: [Int] = []
        while case let records = try log.read(max: batch, reader: r), !records.isEmpty {
            out += records.map { number($0.payload) }
            try log.commit(through: records.last!.position, reader: r)
        }
        return out
    }

    /// Reads `count` records at reader `r` and commits through the last.
    func consume(_ log: SpillLog, _ count: Int, reader r: Int) throws {
        let records = try log.read(max: count, reader: r)
        try log.commit(through: records.last!.position, reader: r)
    }

    /// A log in `dir` with these readers, records 0..<`records` appended, and reader `r` having
    /// consumed (read and committed) the first `consumed[r]`.
    func written(_ dir: TempDir, readers: [String], records: Int, consumed: [Int]) throws -> SpillLog {
        let log = try SpillLog(directory: dir.log, options: small, readers: readers)
        try log.append((0..<records).map { entry($0) })
        for (r, n) in consumed.enumerated() { try consume(log, n, reader: r) }
        return log
    }

    func positionFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("read") }.sorted()
    }

    @Test func readersReadAndCommitIndependently() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: small, readers: ["fast", "slow"])
        try log.append((0..<25).map { entry($0) })
        #expect(try drain(log, reader: 0) == Array(0..<25))
        #expect(try log.read(max: 3, reader: 1).map { number($0.payload) } == [0, 1, 2])
        let s = log.stats
        #expect(s.readers.map(\.name) == ["fast", "slow"])
        #expect(s.readers.map(\.pendingRecords) == [0, 25])
        #expect(s.pendingRecords == 25, "the log-wide figure is the laggard's")
        #expect(s.readers[1].oldestPendingTimestampNanos == 0 && s.readers[0].oldestPendingTimestampNanos == nil)
        // The slow reader rewinds to its own committed position, not the fast one's.
        log.rewind(reader: 1)
        #expect(try drain(log, reader: 1) == Array(0..<25))
        #expect(log.stats.readers.map(\.pendingRecords) == [0, 0])
    }

    @Test func segmentsGoOnlyWhenEveryReaderIsPastThem() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: small, readers: ["a", "b"])
        try log.append((0..<35).map { entry($0) }) // segments 1...4
        #expect(try drain(log, reader: 0) == Array(0..<35))
        #expect(segmentFiles(dir.log).count == 4, "reader b has read nothing: every segment stays")
        try consume(log, 15, reader: 1)
        #expect(segmentFiles(dir.log) == ["seg-0000000000000002.log", "seg-0000000000000003.log", "seg-0000000000000004.log"],
                "segment 1 is behind both; segment 2 still holds b's records 15...19")
        #expect(log.stats.readers[1].pendingRecords == 20)
        #expect(try drain(log, reader: 1) == Array(15..<35))
        #expect(segmentFiles(dir.log) == ["seg-0000000000000004.log"], "only the write segment is left")
        #expect(log.stats.bytesOnDisk == bytesOnDisk(dir.log))
    }

    @Test func byteCapCountsWhatEachReaderLost() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let capped = SpillOptions(segmentBytes: 600, maxBytes: 1800, fsync: .never)
        let log = try SpillLog(directory: dir.log, options: capped, readers: ["up", "down", "half"])
        try log.append((0..<30).map { entry($0) })
        #expect(try drain(log, reader: 0) == Array(0..<30))
        try consume(log, 4, reader: 2) // 0...3
        try log.append([entry(30)]) // past the cap: segment 1 (records 0...9) goes
        let s = log.stats
        #expect(s.readers.map(\.droppedRecords) == [0, 10, 6])
        #expect(s.droppedRecords == 10, "log-wide: the most any reader lost")
        #expect(s.readers.map(\.pendingRecords) == [1, 21, 21])
        #expect(try drain(log, reader: 1) == Array(10..<31))
        #expect(try drain(log, reader: 2) == Array(10..<31))
        #expect(try drain(log, reader: 0) == [30])
    }

    @Test func eachReaderResumesAtItsOwnPositionAfterReopen() throws {
        let dir = TempDir()
        defer { dir.remove() }
        do {
            let log = try written(dir, readers: ["a", "b"], records: 30, consumed: [22, 7])
            _ = try log.read(max: 5, reader: 1) // read, never acknowledged: comes back
            // No close: a crash after the commits (their files are saved at commit).
        }
        #expect(positionFiles(dir.log) == ["read-a.pos", "read-b.pos"])
        let log = try SpillLog(directory: dir.log, options: small, readers: ["a", "b"])
        #expect(log.stats.readers.map(\.pendingRecords) == [8, 23])
        #expect(try drain(log, reader: 0) == Array(22..<30))
        #expect(try drain(log, reader: 1) == Array(7..<30))
    }

    @Test func oneStoreReleasesReadPositionBecomesTheFirstReaders() throws {
        let dir = TempDir()
        defer { dir.remove() }
        do {
            // What the current release writes: one nameless reader, `read.pos`.
            let old = try SpillLog(directory: dir.log, options: small)
            try old.append((0..<25).map { entry($0) })
            let read = try old.read(max: 13)
            try old.commit(through: read.last!.position)
            try old.close()
        }
        #expect(positionFiles(dir.log) == ["read.pos"])
        let log = try SpillLog(directory: dir.log, options: small, readers: ["central", "backup"])
        #expect(positionFiles(dir.log) == ["read-central.pos"], "migrated: saved under the first name, read.pos gone")
        #expect(log.openNotices.count == 1 && log.openNotices[0].contains("'central'"), "\(log.openNotices)")
        #expect(log.openWarnings.isEmpty, "\(log.openWarnings)")
        // The first endpoint goes on where the old release stopped; a new one gets what the log holds.
        #expect(try drain(log, reader: 0) == Array(13..<25))
        #expect(try drain(log, reader: 1) == Array(10..<25), "segment 1 was deleted by the old release's commit")
        try log.close()
        // Reopened again: no second migration, both positions kept.
        let again = try SpillLog(directory: dir.log, options: small, readers: ["central", "backup"])
        #expect(again.openNotices.isEmpty && again.stats.readers.map(\.pendingRecords) == [0, 0])
    }

    @Test func removedReadersPositionIsDroppedAndSaidSo() throws {
        let dir = TempDir()
        defer { dir.remove() }
        do {
            try written(dir, readers: ["keep", "gone"], records: 25, consumed: [20, 2]).close()
        }
        #expect(segmentFiles(dir.log).count == 3, "'gone' holds segment 1")
        let log = try SpillLog(directory: dir.log, options: small, readers: ["keep"])
        #expect(positionFiles(dir.log) == ["read-keep.pos"])
        #expect(log.openWarnings.contains { $0.contains("read-gone.pos") && $0.contains("'gone'") && $0.contains("dropped") },
                "\(log.openWarnings)")
        #expect(try drain(log, reader: 0) == Array(20..<25))
        #expect(segmentFiles(dir.log) == ["seg-0000000000000003.log"], "nothing holds the old segments any more")
    }

    @Test func recoveryKeepsSegmentsTheLaggardStillNeeds() throws {
        let dir = TempDir()
        defer { dir.remove() }
        _ = try written(dir, readers: ["a", "b"], records: 40, consumed: [35, 12]) // no close: a crash
        let log = try SpillLog(directory: dir.log, options: small, readers: ["a", "b"])
        #expect(segmentFiles(dir.log).first == "seg-0000000000000002.log")
        #expect(try drain(log, reader: 1) == Array(12..<40))
        #expect(try drain(log, reader: 0) == Array(35..<40))
    }

    @Test func readerNames() {
        for good in ["a", "vm-1", "store_2.example", "A9", "a b"] { #expect(SpillLog.isValidReaderName(good), "\(good)") }
        for bad in ["", ".hidden", "a/b", "a\0b", String(repeating: "x", count: 101)] {
            #expect(!SpillLog.isValidReaderName(bad), "\(bad)")
        }
        #expect(ReadPositionFile.readerName(ofFile: "read-vm-1.pos") == "vm-1")
        #expect(ReadPositionFile.readerName(ofFile: "read-vm-1.pos.tmp") == "vm-1")
        #expect(ReadPositionFile.readerName(ofFile: "read.pos") == "")
        #expect(ReadPositionFile.readerName(ofFile: "read-.pos") == nil)
        #expect(ReadPositionFile.readerName(ofFile: "read.pos.old") == nil)
    }
}

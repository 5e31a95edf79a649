import Foundation
import Testing
@testable import SpillLog

@Suite struct RoundTripTests {
    let small = SpillOptions(segmentBytes: 1000, maxBytes: 1 << 20, fsync: .always)

    @Test func appendReadCommitAcrossSegments() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: small)
        for start in stride(from: 0, to: 100, by: 10) {
            try log.append((start..<start + 10).map { entry($0) })
        }
        // 100 records of 60 bytes in 1000-byte segments: 16 per segment, 7 segments.
        #expect(log.stats.segments == 7)
        #expect(segmentFiles(dir.log).count == 7)
        #expect(log.stats.pendingRecords == 100)
        #expect(log.stats.bytesOnDisk == 100 * 60)
        #expect(bytesOnDisk(dir.log) == 100 * 60)
        #expect(log.stats.oldestPendingTimestampNanos == 0)

        let firstHalf = try log.read(max: 50)
        #expect(firstHalf.map { number($0.payload) } == Array(0..<50))
        #expect(firstHalf.map(\.timestampNanos) == (0..<50).map { Int64($0) * 1_000_000 })
        #expect(log.stats.pendingRecords == 100) // read, not yet committed
        try log.commit(through: firstHalf.last!.position)
        #expect(log.stats.pendingRecords == 50)
        #expect(log.stats.oldestPendingTimestampNanos == 50_000_000)
        // Segments wholly before record 50 (ids 1-3 hold records 0..47) are gone.
        #expect(segmentFiles(dir.log).count == 4)
        #expect(log.stats.bytesOnDisk == bytesOnDisk(dir.log))

        #expect(try drain(log) == Array(50..<100))
        #expect(log.stats.pendingRecords == 0)
        #expect(log.stats.oldestPendingTimestampNanos == nil)
        #expect(segmentFiles(dir.log).count == 1) // the write segment stays
        try log.append([entry(100)])
        #expect(try drain(log) == [100])
        try log.close()
    }

    @Test func rewindRedeliversUncommitted() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: small)
        try log.append((0..<40).map { entry($0) })
        let a = try log.read(max: 10)
        try log.commit(through: a[4].position)
        _ = try log.read(max: 10)
        log.rewind()
        #expect(try log.read(max: 3).map { number($0.payload) } == [5, 6, 7])
        // Old or repeated commits are ignored.
        try log.commit(through: a[2].position)
        #expect(log.stats.pendingRecords == 35)
    }

    @Test func readPositionSurvivesReopen() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var log = try SpillLog(directory: dir.log, options: small)
        try log.append((0..<60).map { entry($0) })
        let got = try log.read(max: 37)
        try log.commit(through: got[24].position) // delivered 0...24; 25...36 read, unacknowledged
        try log.close()

        log = try SpillLog(directory: dir.log, options: small)
        #expect(log.stats.pendingRecords == 35)
        #expect(log.stats.oldestPendingTimestampNanos == 25_000_000)
        #expect(try log.read(max: 1).map { number($0.payload) } == [25])
        log.rewind()
        #expect(try drain(log, commit: false) == Array(25..<60))
        try log.close()

        // Without close (the position is saved at commit time, as after SIGKILL): the log goes
        // away unclosed, which lets its directory lock go as a killed process's would.
        do {
            let killed = try SpillLog(directory: dir.log, options: small)
            let more = try killed.read(max: 10)
            try killed.commit(through: more.last!.position)
        }
        log = try SpillLog(directory: dir.log, options: small)
        #expect(try drain(log) == Array(35..<60))
    }

    @Test func unknownFilesAreIgnored() throws {
        let dir = TempDir()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.log, withIntermediateDirectories: true)
        for name in ["notes.txt", "seg-1.log", "seg-00000000000000zz.log", "seg-0000000000000001.log.bak", "read.pos.old"] {
            _ = FileManager.default.createFile(atPath: dir.log + "/" + name, contents: Data("junk \(name)".utf8))
        }
        try FileManager.default.createDirectory(atPath: dir.log + "/subdir", withIntermediateDirectories: false)
        var log = try SpillLog(directory: dir.log, options: small)
        try log.append((0..<20).map { entry($0) })
        try log.close()
        log = try SpillLog(directory: dir.log, options: small)
        #expect(try drain(log) == Array(0..<20))
        #expect(log.stats.corruptRecords == 0 && log.stats.tornTailBytes == 0)
        #expect(FileManager.default.fileExists(atPath: dir.log + "/notes.txt"))
        #expect(FileManager.default.fileExists(atPath: dir.log + "/seg-1.log"))
    }

    @Test func garbageReadPositionStartsFromOldest() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var log = try SpillLog(directory: dir.log, options: small)
        try log.append((0..<5).map { entry($0) })
        try log.commit(through: try log.read(max: 2)[1].position)
        try log.close()
        try Data("not a position file at all".utf8).write(to: URL(fileURLWithPath: dir.log + "/read.pos"))
        log = try SpillLog(directory: dir.log, options: small)
        #expect(try drain(log) == Array(0..<5))
    }

    @Test func recordTooLargeIsRejectedWithoutWriting() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: SpillOptions(segmentBytes: 1000, maxBytes: 4 << 20))
        let big = SpillEntry(payload: Data(count: (1 << 20) + 1), timestampNanos: 0)
        #expect(throws: SpillError.recordTooLarge(size: (1 << 20) + 1, limit: 1 << 20)) {
            try log.append([entry(0), big])
        }
        #expect(log.stats.pendingRecords == 0)
        // Exactly 1 MiB is fine, even in small segments (it gets a segment of its own).
        try log.append([entry(1), SpillEntry(payload: Data(count: 1 << 20), timestampNanos: 5), entry(2)])
        let all = try log.read(max: 10)
        #expect(all.count == 3 && all[1].payload.count == 1 << 20)
        #expect(log.stats.segments == 3)
    }

    @Test func closedLogRefusesUse() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: small)
        try log.close()
        #expect(throws: SpillError.closed) { try log.append([entry(0)]) }
    }
}

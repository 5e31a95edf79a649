import Foundation
import Testing
@testable import SpillLog

/// The byte cap and the age cap drop whole segments, oldest first, and count what was lost.
@Suite struct CapTests {
    // 60-byte records, 10 per segment, 3 segments' worth of bytes.
    let capped = SpillOptions(segmentBytes: 600, maxBytes: 1800, fsync: .never)

    @Test func byteCapDropsOldestSegment() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: capped)
        try log.append((0..<30).map { entry($0) })
        #expect(log.stats.bytesOnDisk == 1800 && log.stats.droppedRecords == 0)
        try log.append([entry(30)])
        #expect(log.stats.droppedRecords == 10)
        #expect(log.stats.droppedSegments == 1)
        #expect(segmentFiles(dir.log) == ["seg-0000000000000002.log", "seg-0000000000000003.log", "seg-0000000000000004.log"])
        try log.append((31..<41).map { entry($0) })
        #expect(log.stats.droppedRecords == 20)
        #expect(log.stats.bytesOnDisk <= 1800)
        #expect(log.stats.bytesOnDisk == bytesOnDisk(dir.log))
        #expect(log.stats.pendingRecords == 21)
        #expect(try drain(log) == Array(20..<41))
    }

    @Test func byteCapCountsOnlyUncommittedRecords() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: capped)
        try log.append((0..<30).map { entry($0) })
        let read = try log.read(max: 5)
        try log.commit(through: read[3].position) // 0...3 delivered
        try log.append([entry(30)])
        #expect(log.stats.droppedRecords == 6)
        #expect(try drain(log) == Array(10..<31))
    }

    @Test func readerInsideDroppedSegmentMovesOn() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: capped)
        try log.append((0..<30).map { entry($0) })
        #expect(try log.read(max: 3).map { number($0.payload) } == [0, 1, 2])
        try log.append((30..<35).map { entry($0) })
        #expect(try drain(log) == Array(10..<35))
    }

    @Test func onlySegmentIsDroppedWhenItAloneExceedsTheCap() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: SpillOptions(segmentBytes: 1 << 20, maxBytes: 600, fsync: .never))
        try log.append((0..<10).map { entry($0) })
        try log.append([entry(10)])
        #expect(log.stats.droppedRecords == 10)
        #expect(log.stats.segments == 1)
        #expect(try drain(log) == [10])
    }

    @Test func ageCapDropsSegmentsWhoseNewestRecordIsTooOld() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let second: Int64 = 1_000_000_000
        let options = SpillOptions(segmentBytes: 600, maxBytes: 1 << 20, maxAge: .seconds(10), fsync: .never)
        var log = try SpillLog(directory: dir.log, options: options)
        try log.append((0..<10).map { entry($0, time: Int64($0) * second) })        // segment 1: 0...9 s
        try log.append((10..<20).map { entry($0, time: 100 * second + Int64($0)) }) // segment 2: ~100 s
        try log.maintain(nowNanos: 50 * second)
        #expect(log.stats.droppedRecords == 10)
        #expect(log.stats.oldestPendingTimestampNanos == 100 * second + 10)
        try log.maintain(nowNanos: 105 * second)
        #expect(log.stats.droppedRecords == 10)
        try log.close()
        // Newest timestamps come back from the records themselves at open.
        log = try SpillLog(directory: dir.log, options: options)
        try log.maintain(nowNanos: 1000 * second)
        #expect(log.stats.droppedRecords == 10)
        #expect(log.stats.segments == 0 && log.stats.pendingRecords == 0)
        try log.append([entry(20, time: 1000 * second)])
        #expect(try drain(log) == [20])
    }
}

import Foundation
import Testing
@testable import SpillLog

/// What a damaged or hostile spill directory must not do to the log; each case was first found
/// by Fuzz/fuzz-spill-log (its input is in Fuzz/corpus/spill-log/crash-*).
@Suite struct HostileDirectoryTests {
    @Test func theOldestPendingAgeOfAnyTimestampIsAnAge() throws {
        for (now, then): (Int64, Int64) in [(.max, .min), (.min, .max), (0, .min), (1_700_000_000_000_000_000, 0)] {
            var stats = SpillStats()
            stats.oldestPendingTimestampNanos = then
            #expect(stats.oldestPendingAge(nowNanos: now) == .nanoseconds(now) - .nanoseconds(then))
        }
        // A record stamped at the far end of time, as a log on disk may hold one.
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: SpillOptions(fsync: .never))
        try log.append([entry(0, time: .min)])
        #expect(log.stats.oldestPendingAge(nowNanos: .max) == .nanoseconds(Int64.max) - .nanoseconds(Int64.min))
        try log.close()
    }

    @Test func noSegmentIsNumberedPastTheHighestID() throws {
        let dir = TempDir()
        defer { dir.remove() }
        // 60-byte records, 10 per segment.
        let options = SpillOptions(segmentBytes: 600, maxBytes: 1 << 20, fsync: .never)
        try SpillLog(directory: dir.log, options: options).close()
        let last = dir.log + "/" + Segment.fileName(Segment.maxID)
        var bytes: [UInt8] = []
        payload(0, size: 40).withUnsafeBytes { RecordFormat.encode(payload: $0, timestamp: 1, into: &bytes) }
        #expect(FileManager.default.createFile(atPath: last, contents: Data(bytes)))

        let log = try SpillLog(directory: dir.log, options: options)
        #expect(log.openWarnings.isEmpty)
        #expect(try drain(log, commit: false) == [0])
        // Nine more fit in the segment; the tenth would need id maxID + 1, which the next open
        // would skip (losing its records): the batch is refused whole instead.
        #expect(throws: SpillError.segmentIDsExhausted(directory: dir.log)) {
            try log.append((1..<11).map { entry($0) })
        }
        #expect(segmentFiles(dir.log) == [Segment.fileName(Segment.maxID)])
        #expect(fileSize(last) == bytes.count)
        try log.append((1..<10).map { entry($0) })
        try log.close()

        let again = try SpillLog(directory: dir.log, options: options)
        #expect(try drain(again) == Array(0..<10))
        try again.close()
    }
}

import TestSupport
import Foundation
import Testing
@testable import SpillLog

/// Torn tails and flipped bits: what SIGKILL, power loss and bad disks leave behind.
@Suite struct RecoveryTests {
    let options = SpillOptions(segmentBytes: 1 << 20, maxBytes: 1 << 24, fsync: .never)
    let firstSegment = "seg-0000000000000001.log"

    /// Five 60-byte records (0...4) in one segment.
    func fiveRecords(_ dir: TempDir) throws {
        let log = try SpillLog(directory: dir.log, options: options)
        try log.append((0..<5).map { entry($0) })
        try log.close()
    }

    @Test func tornTailAtEveryOffsetOfTheLastRecord() throws {
        for cut in 241..<300 {
            let dir = TempDir()
            defer { dir.remove() }
            try fiveRecords(dir)
            truncateFile(dir.log + "/" + firstSegment, to: cut)

            var log = try SpillLog(directory: dir.log, options: options)
            #expect(log.stats.tornTailBytes == cut - 240, "cut at \(cut)")
            #expect(log.stats.corruptRecords == 0)
            #expect(log.stats.pendingRecords == 4)
            #expect(fileSize(dir.log + "/" + firstSegment) == 240)
            #expect(try drain(log, commit: false) == [0, 1, 2, 3], "cut at \(cut)")
            try log.append([entry(5)])
            #expect(try drain(log, commit: false) == [5])
            try log.close()

            log = try SpillLog(directory: dir.log, options: options)
            #expect(log.stats.tornTailBytes == 0)
            #expect(try drain(log) == [0, 1, 2, 3, 5])
        }
    }

    @Test func tornTailOnlyInTheLastOfSeveralSegments() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let small = SpillOptions(segmentBytes: 600, maxBytes: 1 << 20, fsync: .never)
        var log = try SpillLog(directory: dir.log, options: small)
        try log.append((0..<25).map { entry($0) })
        try log.close()
        let files = segmentFiles(dir.log)
        #expect(files.count == 3)
        truncateFile(dir.log + "/" + files[2], to: 4 * 60 + 7)
        log = try SpillLog(directory: dir.log, options: small)
        #expect(log.stats.tornTailBytes == 7)
        #expect(try drain(log) == Array(0..<24))
    }

    /// Offsets inside record 2 (bytes 120..<180): magic, length, CRC, timestamp, payload.
    @Test(arguments: [120, 121, 124, 126, 128, 131, 132, 139, 140, 165, 179])
    func flippedByteInMiddleRecordIsSkipped(offset: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        try fiveRecords(dir)
        flipByte(dir.log + "/" + firstSegment, at: offset)
        let log = try SpillLog(directory: dir.log, options: options)
        #expect(log.stats.corruptRecords == 1)
        #expect(log.stats.corruptBytes == 60)
        #expect(log.stats.tornTailBytes == 0)
        #expect(log.stats.pendingRecords == 4)
        #expect(try drain(log) == [0, 1, 3, 4])
        #expect(log.stats.corruptRecords == 1) // the reader does not count it again
    }

    @Test func garbageBetweenRecordsIsSkipped() throws {
        let dir = TempDir()
        defer { dir.remove() }
        try fiveRecords(dir)
        // Splice 1000 bytes of noise (with fake magics) between records 1 and 2.
        let path = dir.log + "/" + firstSegment
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SeededRandom(seed: 9)
        var noise = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for i in stride(from: 0, to: 990, by: 97) { noise.replaceSubrange(i..<i + 4, with: [0xA7, 0x53, 0x50, 0x31]) }
        bytes.insert(contentsOf: noise, at: 120)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let log = try SpillLog(directory: dir.log, options: options)
        #expect(log.stats.corruptRecords == 1 && log.stats.corruptBytes == 1000)
        #expect(try drain(log) == [0, 1, 2, 3, 4])
    }

    @Test func corruptionAfterOpenIsSkippedAndCountedByTheReader() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let log = try SpillLog(directory: dir.log, options: options)
        try log.append((0..<5).map { entry($0) })
        flipByte(dir.log + "/" + firstSegment, at: 60 + 30)
        #expect(try drain(log) == [0, 2, 3, 4])
        #expect(log.stats.corruptRecords == 1 && log.stats.corruptBytes == 60)
    }

    @Test func readPositionPastTheEndIsClamped() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var log = try SpillLog(directory: dir.log, options: options)
        try log.append((0..<5).map { entry($0) })
        let all = try log.read(max: 5)
        try log.commit(through: all[4].position) // offset 300
        try log.close()
        truncateFile(dir.log + "/" + firstSegment, to: 200) // records 0...2 and a piece of 3
        log = try SpillLog(directory: dir.log, options: options)
        #expect(log.stats.tornTailBytes == 20)
        #expect(log.stats.pendingRecords == 0)
        try log.append([entry(9)])
        #expect(try drain(log) == [9])
    }

    @Test func arbitraryFileContentNeverCrashes() throws {
        var rng = SeededRandom(seed: 77)
        for round in 0..<40 {
            let dir = TempDir()
            defer { dir.remove() }
            try fiveRecords(dir)
            let path = dir.log + "/" + firstSegment
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if round % 3 == 0 { bytes += (0..<Int.random(in: 0..<500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let log = try SpillLog(directory: dir.log, options: options)
            let got = try drain(log)
            #expect(Set(got).isSubset(of: Set(0..<5)))
            #expect(got == got.sorted())
            try log.append([entry(7)])
            #expect(try drain(log) == [7])
        }
    }
}

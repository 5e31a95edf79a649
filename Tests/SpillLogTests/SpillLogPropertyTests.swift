import TestSupport
import Foundation
import Testing
@testable import SpillLog

/// Random appends, reads, commits, rewinds and reopens against an in-memory model: an array
/// of record numbers with a committed index and a cursor index.
@Suite struct SpillLogPropertyTests {
    struct Model {
        var records: [Int] = []   // every record ever appended and not yet committed-and-deleted
        var committed = 0         // index into records
        var cursor = 0
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func matchesModel(seed: UInt64) throws {
        let dir = TempDir()
        defer { dir.remove() }
        var rng = SeededRandom(seed: seed)
        let options = SpillOptions(segmentBytes: [300, 1000, 4096][Int(seed % 3)], maxBytes: 1 << 30, fsync: .never)
        var log: SpillLog? = try SpillLog(directory: dir.log, options: options)
        var model = Model()
        var lastRead: [SpillRecord] = []
        var next = 0
        for step in 0..<300 {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<35:
                let count = Int.random(in: 1...12, using: &rng)
                try log!.append((next..<next + count).map { entry($0, size: Int.random(in: 12...700, using: &rng)) })
                model.records += next..<next + count
                next += count
            case 35..<65:
                let max = Int.random(in: 1...20, using: &rng)
                lastRead = try log!.read(max: max)
                let expected = Array(model.records[model.cursor..<min(model.records.count, model.cursor + max)])
                #expect(lastRead.map { number($0.payload) } == expected, "seed \(seed) step \(step)")
                model.cursor += lastRead.count
            case 65..<85 where !lastRead.isEmpty:
                let k = Int.random(in: 0..<lastRead.count, using: &rng)
                try log!.commit(through: lastRead[k].position)
                let index = model.records.firstIndex(of: number(lastRead[k].payload))! + 1
                model.committed = Swift.max(model.committed, index)
                model.cursor = Swift.max(model.cursor, model.committed)
                lastRead = []
            case 85..<90:
                log!.rewind()
                model.cursor = model.committed
                lastRead = []
            case 90..<95:
                try log!.close()
                log = try SpillLog(directory: dir.log, options: options)
                model.cursor = model.committed
                lastRead = []
            default:
                // A crash: no close, nothing but what commit() already saved.
                log = nil
                log = try SpillLog(directory: dir.log, options: options)
                model.cursor = model.committed
                lastRead = []
            }
            let stats = log!.stats
            #expect(stats.pendingRecords == model.records.count - model.committed, "seed \(seed) step \(step)")
            #expect(stats.bytesOnDisk == bytesOnDisk(dir.log), "seed \(seed) step \(step)")
            #expect(stats.segments == segmentFiles(dir.log).count)
            #expect(stats.corruptRecords == 0 && stats.tornTailBytes == 0 && stats.droppedRecords == 0)
            let oldest = model.committed < model.records.count ? Int64(model.records[model.committed]) * 1_000_000 : nil
            #expect(stats.oldestPendingTimestampNanos == oldest, "seed \(seed) step \(step)")
        }
        log!.rewind()
        #expect(try drain(log!) == Array(model.records[model.committed...]))
        #expect(log!.stats.pendingRecords == 0)
        try log!.close()
    }
}

import Foundation
import SpillLog
import TestSupport
import Testing

/// `kill -9` in the middle of appends: a real process (spill-bench, appending numbered records
/// in batches as the shipper does) killed at several moments; the log opens again every time,
/// repairs a torn tail, and holds a gapless prefix of what was appended.
@Suite("the spill log after kill -9 mid-append")
struct TornAppendTests {
    @Test(.timeLimit(.minutes(3)), arguments: [150, 400, 900])
    func aKilledWriterLeavesAGaplessReadableLog(afterMilliseconds: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torn-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try ChildProcess([Tools.binary("spill-bench"), dir, "100000000", "500"])
        usleep(UInt32(afterMilliseconds) * 1000)
        writer.signal(SIGKILL)
        #expect(writer.wait(timeout: 10) == 128 + SIGKILL, "killed while still appending")

        let log = try SpillLog(directory: dir)
        defer { try? log.close() }
        #expect(log.stats.corruptRecords == 0, "only the tail can be torn")
        var expected: UInt64 = 0
        var gaps = 0
        while true {
            let records = try log.read(max: 10_000)
            guard !records.isEmpty else { break }
            for r in records {
                let n = r.payload.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                if n != expected { gaps += 1 }
                expected = n + 1
            }
        }
        print("kill -9 after \(afterMilliseconds) ms: \(expected) records read back, \(log.stats.tornTailBytes) torn-tail bytes cut")
        #expect(gaps == 0, "records 0..<\(expected) without a gap")
        #expect(expected > 0, "something was appended before the kill")
    }
}

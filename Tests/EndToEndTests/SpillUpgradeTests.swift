import Foundation
import ProbeAgentCore
import ResultBlocks
import SpillLog
import Testing

/// A spill directory as the one-store release leaves it (one nameless reader, its position in
/// `read.pos`, result blocks in segments) is picked up by this agent: the endpoint of a
/// `remote_write:` mapping takes that position over, so what was delivered before the upgrade
/// is not sent again and everything after it is.
@Suite("a one-store release's spill directory after upgrade")
struct SpillUpgradeTests {
    @Test(.timeLimit(.minutes(4)))
    func readPositionIsTakenOverByTheEndpoint() throws {
        let store = try FakeStore()
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        // What the release wrote: 10 appends of 10 results of monitor "legacy", the first 4
        // delivered and committed.
        let start = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
        do {
            let log = try SpillLog(directory: spill.path, weigh: ResultBlock.weight)
            for chunk in 0..<10 {
                let records = (0..<10).map { t in
                    ResultRecord(monitorID: "legacy", target: "t\(t)", probeProtocol: .icmp, outcome: .ok, suppressed: false,
                                 rttNanoseconds: 1_000_000, timestampMilliseconds: start + Int64(chunk) * 1000, labels: [])
                }
                try log.append(try ResultBlock.encode(records[...]).map { SpillEntry(payload: $0.payload, timestampNanos: 0, weight: $0.count) })
            }
            var read: [SpillRecord] = []
            while read.count < 4 { read += try log.read(max: 4 - read.count) }
            try log.commit(through: read[3].position)
            try log.close()
        }
        #expect(FileManager.default.fileExists(atPath: spill.appendingPathComponent("read.pos").path))

        let agent = try RunningAgent(config: """
            spill:
              dir: \(spill.path)
            remote_write:
              url: \(store.url)
              flush_interval: 200ms
            monitors:
              - id: lo
                protocol: icmp
                cadence: 1s
                targets: [127.0.0.1]
            """)
        defer { _ = agent.stop() }
        func legacySamples() throws -> [Int64] {
            try store.requests().filter { $0.mode == "ok" }.flatMap(\.series)
                .filter { s in s.labels.contains { $0 == ("__name__", "probe_success") } && s.labels.contains { $0 == ("monitor", "legacy") } }
                .flatMap { $0.samples.map(\.timestampMs) }
        }
        let deadline = Date().addingTimeInterval(30)
        while try legacySamples().count < 60 && Date() < deadline { usleep(200_000) }
        let sent = try legacySamples()
        #expect(sent.count == 60, "the 6 undelivered appends, each result once: \(sent.count)")
        #expect(sent.allSatisfy { $0 >= start + 4_000 }, "nothing delivered before the upgrade is sent again")
        let files = try FileManager.default.contentsOfDirectory(atPath: spill.path)
        let name = RemoteWriteConfig.defaultName(url: store.url)
        #expect(files.contains("read-\(name).pos") && !files.contains("read.pos"), "\(files)")
        #expect(agent.log.contains("the read position of a one-store release, now reader '\(name)'"), "log:\n\(agent.log)")
    }
}

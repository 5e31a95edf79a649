import AdminAPI
import Foundation
import Testing

/// `shard: {count: 3, index: I}`: three real agents split one 30,000-target list (file_sd),
/// each target probed by exactly one of them, counted per target from each agent's results.
@Suite("Shards end to end", .serialized)
struct ShardEndToEndTests {
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func threeAgentsProbeEachOfThirtyThousandTargetsExactlyOnce() throws {
        let all = (0..<30_000).map { "127.1.\($0 / 250).\($0 % 250 + 1)" }
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString).json")
        let json = "[{\"targets\": [" + all.map { "\"\($0)\"" }.joined(separator: ",") + "]}]"
        try json.write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        let agents = try (0..<3).map { index in
            try RunningAgent(config: """
                monitors:
                  - id: fleet
                    protocol: icmp
                    cadence: 5s
                    timeout: 1s
                    file_sd_configs:
                      - files: [\(list.path)]
                    shard:
                      count: 3
                      index: ${SHARD_INDEX}
                metrics:
                  per_target_histograms: false
                """, statusInterval: "2s", environment: ["SHARD_INDEX=\(index)"])
        }
        // Every agent's share has been probed (at least one cadence after its list arrived).
        var shares: [[String: UInt64]] = []
        for agent in agents {
            let status = agent.waitForStatus(timeout: 120) { (s: AgentStatus) -> Bool in
                guard let m = s.monitor("fleet"), m.listedTargets == 30_000, !m.targets.isEmpty else { return false }
                return m.targets.allSatisfy { ($0.record?.sent ?? 0) >= 1 }
            }
            let s = try #require(status, "log:\n\(agent.log.suffix(3000))")
            let targets: [AgentStatus.Target] = s.monitor("fleet")?.targets ?? []
            shares.append(Dictionary(uniqueKeysWithValues: targets.map { ($0.target, $0.record?.sent ?? 0) }))
        }
        var probedBy: [String: Int] = [:]
        for share in shares { for (t, sent) in share where sent > 0 { probedBy[t, default: 0] += 1 } }
        #expect(probedBy.count == 30_000, "no gap: \(30_000 - probedBy.count) targets probed by no agent")
        #expect(probedBy.values.allSatisfy { $0 == 1 }, "no overlap: \(probedBy.values.filter { $0 > 1 }.count) targets probed twice")
        #expect(shares.allSatisfy { (9_000...11_000).contains($0.count) }, "\(shares.map(\.count))")
        let table = try agents[1].agentctl(["monitors"])
        #expect(table.stdout.contains("\(shares[1].count) of 30000"), "\(table.stdout)")
        for agent in agents { #expect(agent.stop() == 0) }
    }
}

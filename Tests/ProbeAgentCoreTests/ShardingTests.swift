import Foundation
import Testing
@testable import ProbeAgentCore

/// `shard: {count, index}` and merging discovered groups into a monitor.
@Suite("Sharding and merged targets")
struct ShardingTests {
    @Test func md5MatchesRFC1321AndTheHashmodConvention() {
        func hex(_ s: String) -> String { ShardHash.md5(Array(s.utf8)).map { String(format: "%02x", $0) }.joined() }
        #expect(hex("") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(hex("abc") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(hex(String(repeating: "1234567890", count: 8)) == "57edf4a22be3c955ac49da2e2107b67a")
        // Python: int.from_bytes(md5(t).digest()[8:], "big") % 3
        #expect(ShardHash.shard(of: "abc", count: 3) == 2)
        #expect(ShardHash.shard(of: "message digest", count: 3) == 0)
        #expect(ShardHash.shard(of: "127.0.0.1", count: 3) == 0)
    }

    @Test func threeShardsSplitThirtyThousandTargetsWithoutOverlapOrGap() {
        let all = (0..<30_000).map { "127.\($0 >> 16 & 255).\($0 >> 8 & 255).\($0 & 255 + 1)" }
        var seen: [String: Int] = [:]
        for index in 0..<3 {
            let m = MonitorConfig(id: "m", probeProtocol: .icmp, targets: all,
                                  discovery: DiscoveryConfig(shard: .init(count: 3, index: index))).probing(discovered: [])
            #expect(m.listedTargetCount == 30_000)
            #expect((9_000...11_000).contains(m.targets.count), "\(m.targets.count)")
            for t in m.targets { seen[t, default: 0] += 1 }
        }
        #expect(seen.count == 30_000 && seen.values.allSatisfy { $0 == 1 })
    }

    @Test func discoveredGroupsFollowStaticTargetsOnceWithTheirLabels() {
        let m = MonitorConfig(id: "m", probeProtocol: .icmp, targets: ["127.0.0.2"], labels: ["site": "ams", "tier": "1"],
                              targetLabels: ["127.0.0.2": ["rack": "static"]],
                              discovery: DiscoveryConfig(files: [.init(files: ["/x"])]))
        let probed = m.probing(discovered: [[TargetGroup(targets: ["127.0.0.3", "127.0.0.2"], labels: ["rack": "r9", "tier": "2"])],
                                            [TargetGroup(targets: ["127.0.0.3", "127.0.0.4"])]])
        #expect(probed.targets == ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
        #expect(probed.seriesLabels(target: "127.0.0.2").map(\.1) == ["static", "ams", "1"], "first listing wins")
        #expect(probed.seriesLabels(target: "127.0.0.3").map { "\($0.0)=\($0.1)" } == ["rack=r9", "site=ams", "tier=2"],
                "a target's own label wins over its monitor's")
        #expect(probed.seriesLabels(target: "127.0.0.4").map(\.0) == ["site", "tier"])
    }
}

import Foundation
import Testing

/// `packets: 5` through the whole agent, with the target's nft rule dropping one echo request
/// in five: every cycle is one timeout in five probes, and /metrics says 20% loss from its
/// counters (`probe_timeouts_total / probe_sent_total`).
@Suite("Agent: a burst of packets per cycle", .serialized)
struct BurstAgentTests {
    static let config = """
        monitors:
          - id: burst
            protocol: icmp
            cadence: 1s
            timeout: 300ms
            packets: 5
            spacing: 20ms
            targets: [198.18.22.2]
        """

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func oneDroppedInFiveIsTwentyPercentLossFromTheCounters() throws {
        let net = try PathNetwork.up("pb\(getpid())")
        defer { net.down() }
        try net.nft("target", "add table inet lossy; add chain inet lossy in { type filter hook input priority 0; }; "
            + "add rule inet lossy in icmp type echo-request numgen inc mod 5 == 0 drop")
        let agent = try RunningAgent(config: Self.config, launcher: ["ip", "netns", "exec", net.namespace("agent")])
        defer { _ = agent.stop() }
        let address = try #require(agent.waitForListeners(), "agent log: \(agent.log)")
        let block = #"{monitor="burst",target="198.18.22.2",protocol="icmp"}"#
        var sent = 0.0, timeouts = 0.0, replies = 0.0
        let deadline = Date().addingTimeInterval(30)
        // Read between bursts (every result of the last one in): sent is then a multiple of 5.
        while Date() < deadline {
            let page = try net.exec("agent", ["curl", "-sf", "http://\(address)/metrics"]).stdout
            func value(_ name: String) -> Double {
                page.split(separator: "\n").first { $0.hasPrefix(name + block) }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            }
            (sent, timeouts, replies) = (value("probe_sent_total"), value("probe_timeouts_total"), value("probe_replies_total"))
            if sent >= 15 && Int(sent) % 5 == 0 { break }
            usleep(150_000)
        }
        #expect(sent >= 15 && Int(sent) % 5 == 0, "sent \(sent)")
        #expect(timeouts / sent == 0.2, "timeouts \(timeouts) of \(sent)")
        #expect(replies + timeouts == sent)
        let dropped = try net.exec("target", ["nft", "list", "table", "inet", "lossy"])
        #expect(dropped.status == 0)
    }
}

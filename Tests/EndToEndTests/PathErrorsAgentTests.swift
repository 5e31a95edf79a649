import Foundation
import Testing

/// Errors as they are, through the whole agent: monitors in the agent namespace of the chain
/// agent → r1 → r2 → target whose probes end in time exceeded (ttl: 2) and fragmentation
/// needed (dont_fragment with size over a lowered MTU). The status file, `agentctl monitors
/// --monitor ID` and /metrics all name the reason, the router and the MTU.
@Suite("Agent: ttl_exceeded and fragmentation_needed with the router that said it", .serialized)
struct PathErrorsAgentTests {
    static let config = """
        monitors:
          - id: short-ttl
            protocol: icmp
            cadence: 500ms
            timeout: 400ms
            ttl: 2
            targets: [198.18.22.2, "2001:db8:22::2"]
          - id: pmtu
            protocol: icmp
            cadence: 500ms
            timeout: 400ms
            size: 1400
            dont_fragment: true
            targets: [198.18.22.2, "2001:db8:22::2"]
          - id: plain
            protocol: icmp
            cadence: 500ms
            timeout: 400ms
            targets: [198.18.22.2]
        """

    struct Status: Decodable {
        struct ICMP: Decodable { var type: Int; var code: Int; var reporter: String?; var mtu: Int? }
        struct Record: Decodable {
            var sent: Int; var ok: Int; var ttlExceeded: Int; var fragmentationNeeded: Int; var unreachable: Int
            var lastOutcome: String?; var lastICMP: ICMP?
        }
        struct Target: Decodable { var target: String; var record: Record? }
        struct Monitor: Decodable { var id: String; var targets: [Target] }
        var monitors: [Monitor]
        func record(_ m: String, _ t: String) -> Record? { monitors.first { $0.id == m }?.targets.first { $0.target == t }?.record }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func statusMonitorsAndMetricsNameTheReasonTheRouterAndTheMTU() throws {
        let net = try PathNetwork.up("pe\(getpid())")
        defer { net.down() }
        try net.narrowMiddleLink(to: 1280)
        let agent = try RunningAgent(config: Self.config, launcher: ["ip", "netns", "exec", net.namespace("agent")])
        defer { _ = agent.stop() }
        let address = try #require(agent.waitForListeners(), "agent log: \(agent.log)")
        var status: Status?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            status = try? JSONDecoder().decode(Status.self, from: Data(contentsOf: agent.statusURL))
            if let s = status, [("short-ttl", "198.18.22.2"), ("short-ttl", "2001:db8:22::2"), ("pmtu", "198.18.22.2"),
                                ("pmtu", "2001:db8:22::2"), ("plain", "198.18.22.2")].allSatisfy({ (s.record($0, $1)?.sent ?? 0) >= 3 }) { break }
            usleep(200_000)
        }
        let s = try #require(status)
        for (target, r2) in [("198.18.22.2", "198.18.21.2"), ("2001:db8:22::2", "2001:db8:21::2")] {
            let r = try #require(s.record("short-ttl", target))
            #expect(r.lastOutcome == "ttl_exceeded" && r.ttlExceeded == r.sent && r.unreachable == 0 && r.ok == 0)
            #expect(r.lastICMP?.reporter == r2, "r2 is hop 2")
        }
        for (target, r1, type) in [("198.18.22.2", "198.18.20.2", 3), ("2001:db8:22::2", "2001:db8:20::2", 2)] {
            let r = try #require(s.record("pmtu", target))
            #expect(r.lastOutcome == "fragmentation_needed" && r.fragmentationNeeded == r.sent && r.ok == 0)
            #expect(r.lastICMP?.reporter == r1 && r.lastICMP?.mtu == 1280 && r.lastICMP?.type == type)
        }
        let plain = try #require(s.record("plain", "198.18.22.2"))
        #expect(plain.ok == plain.sent && plain.lastICMP == nil, "a monitor without options is untouched")

        let text = try agent.agentctl(["monitors", "--monitor", "pmtu"])
        #expect(text.stdout.contains("fragmentation_needed (mtu 1280) from 198.18.20.2"), "\(text.stdout)")
        #expect(text.stdout.contains("fragmentation_needed (mtu 1280) from 2001:db8:20::2"), "\(text.stdout)")
        let ttl = try agent.agentctl(["monitors", "--monitor", "short-ttl"])
        #expect(ttl.stdout.contains("ttl_exceeded from 198.18.21.2"), "\(ttl.stdout)")

        let metrics = try net.exec("agent", ["curl", "-sf", "http://\(address)/metrics"])
        let lines = metrics.stdout.split(separator: "\n")
        func value(_ prefix: String) -> Double? {
            lines.first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let ttlBlock = #"probe_errors_total{monitor="short-ttl",target="198.18.22.2",protocol="icmp",reason="ttl_exceeded"}"#
        let fragBlock = #"probe_errors_total{monitor="pmtu",target="198.18.22.2",protocol="icmp",reason="fragmentation_needed"}"#
        #expect((value(ttlBlock) ?? 0) >= 3, "\(metrics.stdout.prefix(3000))")
        #expect((value(fragBlock) ?? 0) >= 3)
        #expect(value(#"probe_errors_total{monitor="pmtu",target="198.18.22.2",protocol="icmp",reason="unreachable"}"#) == 0)
    }
}

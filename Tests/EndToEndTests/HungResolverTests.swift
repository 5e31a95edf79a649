import AdminAPI
import Foundation
import TestSupport
import Testing

/// A resolver that never answers delays neither start-up nor IP-literal targets; names are
/// looked up in the background, in parallel, and a hung lookup is reported after
/// `scheduler.resolve_timeout`. `all_addresses` probes every address of a name as its own
/// series. The agent runs in the client namespace of the test network, with an
/// /etc/resolv.conf (bind-mounted in its own mount namespace) naming 198.18.2.53: inside the
/// silent prefix, where the server namespace drops every packet, so every DNS query hangs.
@Suite("probe-agent with a resolver that never answers", .serialized)
struct HungResolverTests {

    @Test(.enabled(if: Tools.isRoot, "needs root for the test network and a private mount namespace"),
          .timeLimit(.minutes(3)))
    func literalsAndReadyDoNotWaitOnAHungResolver() throws {
        let net = try TestNetwork.up("ahr\(getpid())")
        defer { net.down() }
        let route = try net.run(["exec", "ip", "route", "get", "198.18.2.53"])
        try #require(route.stdout.contains("dev pa0"), "the name server's address must go over the test veth: \(route.stdout)")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pa-resolver-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let resolv = dir.appendingPathComponent("resolv.conf")
        // timeout:30 attempts:5: each query hangs for minutes, longer than this test.
        try "nameserver 198.18.2.53\noptions timeout:30 attempts:5\n".write(to: resolv, atomically: true, encoding: .utf8)
        let hosts = dir.appendingPathComponent("hosts")
        try "127.0.0.1 localhost\n198.18.1.7 known.test\n198.18.1.5 dual.test\n2001:db8:1::5 dual.test\n"
            .write(to: hosts, atomically: true, encoding: .utf8)
        let hung = (1...12).map { String(format: "h%02d.hung.test", $0) }
        let cfg = """
            scheduler:
              resolve_timeout: 2s
            monitors:
              - id: literal
                protocol: icmp
                cadence: 500ms
                targets: [198.18.1.1]
              - id: named
                protocol: icmp
                cadence: 1s
                targets: [\((hung + ["known.test"]).joined(separator: ", "))]
              - id: every
                protocol: icmp
                cadence: 1s
                all_addresses: true
                targets: [dual.test]
              - id: v6-only
                protocol: icmp
                cadence: 1s
                address_family: ipv6
                targets: [dual.test]
            """
        let systemd = try NotifyListener(path: dir.appendingPathComponent("notify.sock").path)
        let echoesBefore = try net.echoesReceived()
        let started = Date()
        let agent = try RunningAgent(config: cfg, hostsFile: hosts, resolvConf: resolv,
                                     environment: ["NOTIFY_SOCKET=\(systemd.address)"],
                                     launcher: [Tools.testnet, "exec", net.name])
        let ready = systemd.next(timeout: 10) { $0.notifyFields["READY"] == "1" }
        let readyAfter = Date().timeIntervalSince(started)
        #expect(ready != nil, "no READY=1; log:\n\(agent.log)")
        #expect(readyAfter < 2, "READY=1 after \(readyAfter) s")
        var firstEchoAfter: TimeInterval?
        for _ in 0..<100 where firstEchoAfter == nil {
            if try net.echoesReceived() > echoesBefore { firstEchoAfter = Date().timeIntervalSince(started) } else { usleep(20_000) }
        }
        let first = try #require(firstEchoAfter, "no echo reached the server namespace; log:\n\(agent.log)")
        #expect(first < 1, "the first literal probe arrived \(first) s after start")
        print("hung resolver: READY=1 \(Int(readyAfter * 1000)) ms and the first literal echo \(Int(first * 1000)) ms after start")

        func target(_ s: AgentStatus, _ m: String, _ t: String) -> AgentStatus.Target? {
            s.monitor(m)?.targets.first { $0.target == t }
        }
        // 12 hung names: 8 lookups at a time, each given up after 2 s, so known.test (sorted
        // after them) gets its turn within a few seconds and is probed.
        let named = agent.waitForStatus(timeout: 30) {
            ($0.resolverFailures.count == hung.count) && (target($0, "named", "known.test")?.record?.ok ?? 0) >= 1
                && (target($0, "every", "dual.test/198.18.1.5")?.record?.ok ?? 0) >= 1
                && (target($0, "every", "dual.test/2001:db8:1::5")?.record?.ok ?? 0) >= 1
        }
        let s = try #require(named, "log:\n\(agent.log)\nstatus: \((try? String(contentsOf: agent.statusURL, encoding: .utf8)) ?? "-")")
        #expect(s.resolverFailures["h01.hung.test"]?.contains("no answer within 2000 ms") == true, "\(s.resolverFailures)")
        #expect(target(s, "named", "h12.hung.test")?.record?.lastOutcome == .unresolved)
        #expect((target(s, "literal", "198.18.1.1")?.record?.ok ?? 0) >= 3, "literals probed all along")
        #expect(target(s, "named", "known.test")?.address == "198.18.1.7")
        #expect(s.monitor("every")?.targets.map(\.target).sorted() == ["dual.test/198.18.1.5", "dual.test/2001:db8:1::5"])
        #expect(target(s, "v6-only", "dual.test")?.address == "2001:db8:1::5", "address_family: ipv6 probes the AAAA")
        #expect((target(s, "v6-only", "dual.test")?.record?.ok ?? 0) >= 1)

        // /metrics: each address of the name is its own series under target="dual.test".
        let http = try #require(agent.waitForListeners(timeout: 10), "log:\n\(agent.log)")
        let page = try net.run(["exec", "curl", "-sf", "--max-time", "20", "http://\(http)/metrics"])
        for a in ["198.18.1.5", "2001:db8:1::5"] {
            #expect(page.stdout.contains("probe_replies_total{monitor=\"every\",target=\"dual.test\",address=\"\(a)\",protocol=\"icmp\"}"),
                    "no series for \(a)")
        }
        let stopAt = Date()
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
        #expect(Date().timeIntervalSince(stopAt) < 10, "hung lookups do not hold up the stop")
        #expect(agent.log.contains("cannot resolve target 'h01.hung.test': no answer within 2000 ms"), "log:\n\(agent.log)")
    }
}

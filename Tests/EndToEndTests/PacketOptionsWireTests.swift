import Foundation
import TestSupport
import Testing

/// Packet options as they arrive at the target: tcpdump in the target namespace of the chain
/// agent → r1 → r2 → target sees the TOS / traffic class and the TTL / hop limit
/// `agentctl probe -O -H` asked for (minus the two routers' hops); and don't-fragment with a
/// size over a lowered MTU ends as fragmentation_needed with that MTU, from r1.
@Suite("Packet options on the wire", .serialized)
struct PacketOptionsWireTests {
    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func tosAndTTLAreOnTheWire() throws {
        let net = try PathNetwork.up("pw\(getpid())")
        defer { net.down() }
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: capture) }
        // Echo requests (v4, v6) and SYNs towards the target, 6 packets, then tcpdump exits.
        let filter = "(icmp and icmp[0] = 8) or (icmp6 and ip6[40] = 128) or (tcp and tcp[13] & 2 != 0)"
        let dump = try ChildProcess([PathNetwork.script, "exec", net.name, "target", "timeout", "30",
                                     "tcpdump", "-n", "-v", "-l", "-c", "6", "-i", "p2", filter], output: capture)
        defer { if dump.wait(timeout: 0) == nil { dump.signal(SIGKILL); _ = dump.wait(timeout: 5) } }
        for _ in 0..<100 where !((try? String(contentsOfFile: capture, encoding: .utf8)) ?? "").contains("listening on") {
            usleep(100_000)
        }
        for args in [["-O", "184", "-H", "5", "198.18.22.2"], ["-O", "184", "-H", "5", "2001:db8:22::2"],
                     ["--tcp", "9", "-O", "184", "-H", "5", "198.18.22.2"]] {
            let out = try net.exec("agent", [Tools.agentctl, "probe", "-c", "2", "-i", "100ms"] + args)
            // Port 9 is closed on the target: its RST answers the SYN (exit 1: no "received").
            #expect(args[0] == "--tcp" ? out.stdout.contains("refused = 2") : out.status == 0, "\(out.stdout) \(out.stderr)")
        }
        #expect(dump.wait(timeout: 20) == 0, "tcpdump saw 6 packets")
        let text = try String(contentsOfFile: capture, encoding: .utf8)
        let v4 = text.split(separator: "\n").filter { $0.contains("proto ICMP") }
        let v6 = text.split(separator: "\n").filter { $0.contains("next-header ICMPv6") }
        let syn = text.split(separator: "\n").filter { $0.contains("proto TCP") }
        #expect(v4.count == 2 && v6.count == 2 && syn.count == 2, "\(text)")
        // Sent with TTL 5, forwarded by r1 and r2: 3 at the target.
        #expect((v4 + syn).allSatisfy { $0.contains("tos 0xb8") && $0.contains("ttl 3") }, "\(text)")
        #expect(v6.allSatisfy { $0.contains("class 0xb8") && $0.contains("hlim 3") }, "\(text)")
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func dontFragmentOverALoweredMTUIsFragmentationNeededWithThatMTU() throws {
        let net = try PathNetwork.up("pf\(getpid())")
        defer { net.down() }
        try net.narrowMiddleLink(to: 1280)
        for (target, r1) in [("198.18.22.2", "198.18.20.2"), ("2001:db8:22::2", "2001:db8:20::2")] {
            let out = try net.exec("agent", [Tools.agentctl, "probe", "--json", "-c", "3", "-i", "100ms", "-M", "-b", "1400", target])
            let report = try ProbeReport.parse(out.stdout)
            #expect(report.results.count == 3)
            #expect(report.results.allSatisfy { $0.status == "fragmentation_needed" && $0.reporter == r1 && $0.mtu == 1280 },
                    "\(out.stdout)")
            // Small enough for the link: it gets through with DF set.
            let fits = try net.exec("agent", [Tools.agentctl, "probe", "--json", "-c", "2", "-i", "100ms", "-M", "-b", "1200", target])
            #expect(try ProbeReport.parse(fits.stdout).summary.first?.received == 2)
        }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func sourceAddressAndInterface() throws {
        let net = try PathNetwork.up("ps\(getpid())")
        defer { net.down() }
        try Self.addSecondAddress(net)
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("ps-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let dump = try ChildProcess([PathNetwork.script, "exec", net.name, "target", "timeout", "30", "tcpdump", "-n", "-l",
                                     "-c", "3", "-i", "p2", "(icmp and icmp[0] = 8) or (icmp6 and ip6[40] = 128) or (tcp and tcp[13] & 2 != 0)"],
                                    output: capture)
        defer { if dump.wait(timeout: 0) == nil { dump.signal(SIGKILL); _ = dump.wait(timeout: 5) } }
        for _ in 0..<100 where !((try? String(contentsOfFile: capture, encoding: .utf8)) ?? "").contains("listening on") {
            usleep(100_000)
        }
        let v4 = try net.exec("agent", [Tools.agentctl, "probe", "-S", "198.18.20.5", "198.18.22.2"])
        #expect(v4.status == 0, "\(v4.stdout)\(v4.stderr)")
        let v6 = try net.exec("agent", [Tools.agentctl, "probe", "-S", "2001:db8:20::5", "2001:db8:22::2"])
        #expect(v6.status == 0, "\(v6.stdout)\(v6.stderr)")
        // A SYN's checksum covers the source: the target answers (RST) only when it is right.
        let syn = try net.exec("agent", [Tools.agentctl, "probe", "--tcp", "9", "-S", "198.18.20.5", "198.18.22.2"])
        #expect(syn.stdout.contains("refused = 1"), "\(syn.stdout)")
        #expect(dump.wait(timeout: 20) == 0)
        let text = try String(contentsOfFile: capture, encoding: .utf8)
        #expect(text.contains("198.18.20.5 > 198.18.22.2: ICMP echo request"), "\(text)")
        #expect(text.contains("2001:db8:20::5 > 2001:db8:22::2: ICMP6, echo request"), "\(text)")
        #expect(text.contains("198.18.20.5."), "the SYN from the source: \(text)")

        // -I: out of p1 (the way to the target) answers; out of lo it cannot get there.
        #expect(try net.exec("agent", [Tools.agentctl, "probe", "-I", "p1", "198.18.22.2"]).status == 0)
        let lo = try net.exec("agent", [Tools.agentctl, "probe", "--json", "-I", "lo", "--timeout", "300ms", "198.18.22.2"])
        #expect(try ProbeReport.parse(lo.stdout).summary.first?.received == 0, "\(lo.stdout)")
        // Mixed families and unknown interfaces are refused before anything is sent.
        let mixed = try net.exec("agent", [Tools.agentctl, "probe", "-S", "198.18.20.5", "2001:db8:22::2"])
        #expect(mixed.status != 0 && mixed.stderr.contains("-S 198.18.20.5 is IPv4"), "\(mixed.stderr)")
        let nowhere = try net.exec("agent", [Tools.agentctl, "probe", "-I", "nosuch0", "198.18.22.2"])
        #expect(nowhere.status != 0 && nowhere.stderr.contains("no such interface"), "\(nowhere.stderr)")
    }

    /// A second address of the agent (198.18.20.5, 2001:db8:20::5), routed back to it by r1 and r2.
    static func addSecondAddress(_ net: PathNetwork) throws {
        for (node, args) in [("agent", ["addr", "add", "198.18.20.5/32", "dev", "lo"]),
                             ("agent", ["-6", "addr", "add", "2001:db8:20::5/128", "dev", "lo"]),
                             ("r1", ["route", "add", "198.18.20.5/32", "via", "198.18.20.1"]),
                             ("r1", ["-6", "route", "add", "2001:db8:20::5/128", "via", "2001:db8:20::1"]),
                             ("r2", ["route", "add", "198.18.20.5/32", "via", "198.18.21.1"]),
                             ("r2", ["-6", "route", "add", "2001:db8:20::5/128", "via", "2001:db8:21::1"])] {
            try #require(try net.exec(node, ["ip"] + args).status == 0)
        }
    }

    /// A monitor's `source`: the target drops echo requests from the agent's own link address,
    /// so only the monitor that sends from the second address gets replies.
    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func aMonitorsSourceIsWhereItsProbesComeFrom() throws {
        let net = try PathNetwork.up("pm\(getpid())")
        defer { net.down() }
        try Self.addSecondAddress(net)
        try net.nft("target", "add table inet only; add chain inet only in { type filter hook input priority 0; }; "
            + "add rule inet only in ip saddr 198.18.20.1 icmp type echo-request drop")
        let agent = try RunningAgent(config: """
            monitors:
              - id: from-second
                protocol: icmp
                cadence: 500ms
                timeout: 300ms
                source: 198.18.20.5
                targets: [198.18.22.2]
              - id: from-link
                protocol: icmp
                cadence: 500ms
                timeout: 300ms
                targets: [198.18.22.2]
            """, launcher: ["ip", "netns", "exec", net.namespace("agent")])
        defer { _ = agent.stop() }
        let s = agent.waitForStatus(timeout: 30) { $0.sent("from-second") >= 3 && $0.sent("from-link") >= 3 }
        let status = try #require(s, "agent log: \(agent.log)")
        let second = try #require(status.monitor("from-second")?.targets.first?.record)
        let link = try #require(status.monitor("from-link")?.targets.first?.record)
        #expect(second.ok == second.sent, "from 198.18.20.5: answered")
        #expect(link.ok == 0 && link.timeouts == link.sent, "from 198.18.20.1: dropped by the target")
    }
}

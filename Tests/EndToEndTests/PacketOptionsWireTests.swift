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
}

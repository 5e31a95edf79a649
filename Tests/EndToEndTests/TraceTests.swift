import Foundation
import Testing

/// `agentctl trace` on the chain agent → r1 → r2 → target (Tests/support/pathnet.sh): hops in
/// order for ICMP and TCP SYN, v4 and v6; Debian's traceroute and mtr see the same; a router
/// that keeps its time-exceeded to itself shows as `*` and the trace goes on.
@Suite("agentctl trace over a chain of forwarding namespaces", .serialized)
struct TraceTests {
    static let name = "tr\(getpid())"

    static func withChain(_ body: (PathNetwork) throws -> Void) throws {
        let net = try PathNetwork.up(name)
        defer { net.down() }
        try body(net)
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"),
          arguments: [(PathNetwork.targetV4, PathNetwork.hopsV4, [String]()),
                      (PathNetwork.targetV6, PathNetwork.hopsV6, []),
                      (PathNetwork.targetV4, PathNetwork.hopsV4, ["--tcp", "9"]),
                      (PathNetwork.targetV6, PathNetwork.hopsV6, ["--tcp", "9"])])
    func showsR1R2AndTheTargetInOrder(target: String, hops: [String], extra: [String]) throws {
        try Self.withChain { net in
            let (status, r) = try net.trace(extra + ["-c", "3", target])
            #expect(status == 0, "the target answered")
            #expect(r.reached)
            #expect(r.hops.map(\.hosts) == hops.map { [$0] })
            #expect(r.hops.map(\.lossPercent) == [0, 0, 0])
            #expect(r.hops.map(\.received) == [3, 3, 3])
            #expect(r.hops.dropLast().allSatisfy { $0.outcome == "ttl_exceeded" })
            #expect(r.hops.last?.outcome == (extra.isEmpty ? "ok" : "refused"), "closed port 9: RST")
            for h in r.hops {
                let (mn, avg, mx) = (try #require(h.minMs), try #require(h.avgMs), try #require(h.maxMs))
                #expect(mn > 0 && mn <= avg && avg <= mx && mx < 500)
            }
        }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func debianTracerouteAndMtrAgree() throws {
        try Self.withChain { net in
            for (target, family) in [(PathNetwork.targetV4, "-4"), (PathNetwork.targetV6, "-6")] {
                let (_, ours) = try net.trace(["-c", "2", target])
                let tr = try net.exec("agent", ["traceroute", family, "-n", "-q", "1", "-w", "1", "-m", "8", target])
                try #require(tr.status == 0, "traceroute: \(tr.stderr)")
                // "traceroute to …" then " 1  198.18.20.2  0.061 ms" per hop.
                let trHops = tr.stdout.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
                #expect(trHops == ours.hops.map { $0.hosts.first ?? "*" }, "traceroute: \(tr.stdout)")
                let mtr = try net.exec("agent", ["mtr", family, "-n", "-r", "-c", "2", "-i", "0.2", target])
                try #require(mtr.status == 0, "mtr: \(mtr.stderr)")
                // Report lines: "  1.|-- 198.18.20.2  0.0% 2 …"
                let mtrHops = mtr.stdout.split(separator: "\n").filter { $0.contains("|--") }.compactMap {
                    $0.split(separator: " ").first { $0.contains(".") && !$0.hasSuffix(".|--") || $0.contains(":") }.map(String.init)
                }
                #expect(mtrHops == ours.hops.map { $0.hosts.first ?? "???" }, "mtr: \(mtr.stdout)")
            }
        }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func aHopThatDropsTimeExceededShowsAsLossAndTheTraceGoesOn() throws {
        try Self.withChain { net in
            try net.nft("r1", "add table inet quiet; add chain inet quiet out { type filter hook output priority 0; }; "
                + "add rule inet quiet out icmp type time-exceeded drop; add rule inet quiet out icmpv6 type time-exceeded drop")
            for (target, hops) in [(PathNetwork.targetV4, PathNetwork.hopsV4), (PathNetwork.targetV6, PathNetwork.hopsV6)] {
                let (status, r) = try net.trace(["-c", "3", target])
                #expect(status == 0 && r.reached)
                #expect(r.hops.count == 3)
                #expect(r.hops[0].hosts.isEmpty && r.hops[0].lossPercent == 100 && r.hops[0].sent == 3)
                #expect(r.hops[1].hosts == [hops[1]] && r.hops[1].lossPercent == 0)
                #expect(r.hops[2].hosts == [hops[2]] && r.hops[2].outcome == "ok")
            }
            let text = try net.exec("agent", [Tools.agentctl, "trace", "-c", "2", "--interval", "100ms", "--timeout", "300ms", PathNetwork.targetV4])
            let first = text.stdout.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("1 ") }
            #expect(first?.contains("*") == true && first?.contains("100.0%") == true, "\(text.stdout)")
        }
    }
}

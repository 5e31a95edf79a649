import Foundation
import Testing

@Suite("agentctl probe on loopback")
struct AgentctlTests {
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw sockets"))
    func dropsEveryCapabilityAfterOpeningSockets() throws {
        let out = try Tools.run([Tools.agentctl, "probe", "--json", "-c", "2", "-i", "50ms", "127.0.0.1", "::1"])
        #expect(out.status == 0, "\(out.stderr)")
        let r = try ProbeReport.parse(out.stdout)
        #expect(r.engine.hadCapNetRaw && r.engine.capabilitiesDropped)
        #expect(r.engine.icmp4 == "raw" && r.engine.icmp6 == "raw")
        #expect(r.summary.allSatisfy { $0.sent == 2 && $0.received == 2 })
    }

    @Test func textOutputAndExitCodes() throws {
        let ok = try Tools.run([Tools.agentctl, "probe", "--connect", "1", "127.0.0.1"])
        #expect(ok.status == 1, "refused port never answers ok: exit 1")
        #expect(ok.stdout.contains("127.0.0.1:1 : [0] refused"))
        #expect(ok.stdout.contains("xmt/rcv/%loss = 1/0/100%"))
        let bad = try Tools.run([Tools.agentctl, "probe", "no-such-host.invalid"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("cannot resolve 'no-such-host.invalid'"))
        let usage = try Tools.run([Tools.agentctl, "probe", "--tcp", "80", "--connect", "80", "127.0.0.1"])
        #expect(usage.status != 0 && usage.stderr.contains("choose one of --tcp and --connect"))
        let dur = try Tools.run([Tools.agentctl, "probe", "--timeout", "soon", "127.0.0.1"])
        #expect(dur.status != 0 && dur.stderr.contains("not a duration"))
    }

    @Test func targetsFromFile() throws {
        let f = FileManager.default.temporaryDirectory.appendingPathComponent("targets-\(getpid()).txt")
        try "# loopback only\n127.0.0.2\n\n127.0.0.3   # trailing comment\n".write(to: f, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: f) }
        let out = try Tools.run([Tools.agentctl, "probe", "--connect", "1", "-q", "-f", f.path])
        #expect(out.stdout.contains("127.0.0.2:1 : xmt/rcv/%loss = 1/0/100%"))
        #expect(out.stdout.contains("127.0.0.3:1 : xmt/rcv/%loss = 1/0/100%"))
        #expect(!out.stdout.contains("[0]"), "quiet prints summaries only")
    }
}

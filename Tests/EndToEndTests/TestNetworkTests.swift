import Foundation
import Testing

/// `agentctl probe` inside the namespace test network (Tests/support/testnet.sh): two
/// namespaces joined by one veth pair, nothing else. 198.18.1/24 answers, 198.18.2/24 is
/// silent (nft drop), 198.18.3/24 is prohibited and 198.18.4/24 unreachable at the router,
/// 198.18.1.1:8080 listens; the same under 2001:db8:N::/64.
@Suite("agentctl probe over the namespace test network", .serialized)
struct TestNetworkTests {
    static let name = "agt\(getpid())"

    /// Brings the network up, runs body, always tears it down.
    func withNetwork(_ body: () throws -> Void) throws {
        let up = try Tools.run([Tools.testnet, "up", Self.name], timeout: 60)
        defer { _ = try? Tools.run([Tools.testnet, "down", Self.name], timeout: 60) }
        try #require(up.status == 0, "testnet up failed: \(up.stderr)")
        let check = try Tools.run([Tools.testnet, "check", Self.name])
        try #require(check.status == 0, "route check failed, not probing: \(check.stderr)")
        try body()
    }

    func probe(_ args: [String]) throws -> (Tools.Output, ProbeReport?) {
        let out = try Tools.run([Tools.testnet, "exec", Self.name, Tools.agentctl, "probe", "--json"] + args, timeout: 30)
        return (out, try? ProbeReport.parse(out.stdout))
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func icmpAliveSilentAndUnreachable() throws {
        try withNetwork {
            let started = Date()
            let (out, report) = try probe(["--timeout", "500ms", "198.18.1.7", "198.18.2.1", "198.18.3.1", "198.18.4.1",
                                           "2001:db8:1::7", "2001:db8:2::1", "2001:db8:3::1", "2001:db8:4::1"])
            let r = try #require(report, "no JSON: \(out.stderr)")
            #expect(out.status == 1, "some targets never answer: exit 1")
            #expect(Date().timeIntervalSince(started) < 10)
            let by = Dictionary(uniqueKeysWithValues: r.results.map { ($0.target, $0) })
            #expect(by["198.18.1.7"]?.status == "ok")
            #expect(by["2001:db8:1::7"]?.status == "ok")
            #expect(by["198.18.2.1"]?.status == "timeout")
            #expect(by["2001:db8:2::1"]?.status == "timeout")
            #expect(by["198.18.3.1"]?.status == "unreachable")
            #expect(by["198.18.3.1"]?.icmpType == 3 && by["198.18.3.1"]?.icmpCode == 13)
            #expect(by["198.18.3.1"]?.reporter == "198.18.0.2")
            #expect(by["198.18.4.1"]?.icmpType == 3 && by["198.18.4.1"]?.icmpCode == 1)
            #expect(by["2001:db8:3::1"]?.status == "unreachable")
            #expect(by["2001:db8:3::1"]?.icmpType == 1 && by["2001:db8:3::1"]?.icmpCode == 1)
            #expect(by["2001:db8:3::1"]?.reporter == "2001:db8::2")
            #expect(by["2001:db8:4::1"]?.icmpType == 1 && by["2001:db8:4::1"]?.icmpCode == 0)
        }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func tcpSynOpenRefusedTimeoutUnreachable() throws {
        try withNetwork {
            let (out, report) = try probe(["--tcp", "8080", "--timeout", "500ms", "198.18.1.1", "198.18.1.2",
                                           "198.18.2.1", "198.18.3.1", "2001:db8:1::1", "2001:db8:1::2"])
            let r = try #require(report, "no JSON: \(out.stderr)")
            let by = Dictionary(uniqueKeysWithValues: r.results.map { ($0.target, $0) })
            #expect(by["198.18.1.1"]?.status == "ok")       // listener
            #expect(by["198.18.1.2"]?.status == "refused")  // RST
            #expect(by["198.18.2.1"]?.status == "timeout")  // dropped
            #expect(by["198.18.3.1"]?.status == "unreachable")
            #expect(by["198.18.3.1"]?.icmpType == 3 && by["198.18.3.1"]?.icmpCode == 13)
            #expect(by["2001:db8:1::1"]?.status == "ok")
            #expect(by["2001:db8:1::2"]?.status == "refused")
        }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func tcpConnectOpenRefusedTimeout() throws {
        try withNetwork {
            let (out, report) = try probe(["--connect", "8080", "--timeout", "500ms", "198.18.1.1", "198.18.1.2",
                                           "198.18.2.1", "2001:db8:1::1"])
            let r = try #require(report, "no JSON: \(out.stderr)")
            let by = Dictionary(uniqueKeysWithValues: r.results.map { ($0.target, $0) })
            #expect(by["198.18.1.1"]?.status == "ok")
            #expect(by["198.18.1.2"]?.status == "refused")
            #expect(by["198.18.2.1"]?.status == "timeout")
            #expect(by["2001:db8:1::1"]?.status == "ok")
        }
    }
}

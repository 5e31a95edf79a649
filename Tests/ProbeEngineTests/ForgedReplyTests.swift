import CProbe
import Foundation
import Testing
import TestSupport
import ProbeAgentCore
@testable import ProbeEngine

/// A hostile target and router in the namespace test network (Tests/support/testnet.sh): the
/// server namespace is on the path to every target and owns 198.18.1/24 (2001:db8:1::/64).
/// Tests/support/forge-replies.py there watches the engine's probes to its own addresses and
/// forges, for a silent target it does not route (198.18.2.1, 2001:db8:2::1), every ICMP
/// error, echo reply and TCP answer it can derive from them, including the sweep of all
/// 65,536 sequences that used to mark such a target unreachable. None may reach a result.
@Suite("Forged replies from a target on the path", .serialized)
struct ForgedReplyTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let testnet = repo.appendingPathComponent("Tests/support/testnet.sh").path
    static let forger = repo.appendingPathComponent("Tests/support/forge-replies.py").path

    @Test(.enabled(if: haveRaw, rawReason), .timeLimit(.minutes(3)))
    func forgeriesForAnotherTargetAreRefused() async throws {
        let name = "fg\(getpid())"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("forged-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let up = try Self.run([Self.testnet, "up", name], log: "\(dir)/up.log", timeout: 60)
        defer { _ = try? Self.run([Self.testnet, "down", name], log: "\(dir)/down.log", timeout: 60) }
        try #require(up == 0, "testnet up failed: \(Self.read("\(dir)/up.log"))")
        // Targets answer echo requests with nothing (the kernel's replies would race the
        // forger's honest errors); the raw sockets there still see every request.
        let quiet = try Self.run([Self.testnet, "sexec", name, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1",
                                  "net.ipv6.icmp.echo_ignore_all=1"], log: "\(dir)/sysctl.log", timeout: 10)
        try #require(quiet == 0, "sysctl: \(Self.read("\(dir)/sysctl.log"))")

        let ready = "\(dir)/ready", summaryPath = "\(dir)/summary.json", forgerLog = "\(dir)/forger.log"
        let forger = try ChildProcess([Self.testnet, "sexec", name, "python3", Self.forger,
                                       "--client4", "198.18.0.1", "--client6", "2001:db8::1",
                                       "--watch4", "198.18.1.0/24", "--watch6", "2001:db8:1::/64",
                                       "--victim4", Target.victim4, "--victim6", Target.victim6, "--victim-port", "8080",
                                       "--seconds", "40", "--max-packets", "900000", "--honest",
                                       "--ready", ready, "--summary", summaryPath], output: forgerLog)
        defer { if forger.isRunning { forger.signal(SIGTERM); _ = forger.wait(timeout: 5) } }
        let readyBy = monotonicMs() + 15_000
        while !FileManager.default.fileExists(atPath: ready) && forger.isRunning && monotonicMs() < readyBy { usleep(20_000) }
        try #require(FileManager.default.fileExists(atPath: ready), "forger did not start: \(Self.read(forgerLog))")

        let outcome = try await PrivateNetwork.join("/run/netns/pa-c-\(name)") {
            try Self.probeWhileForging(until: summaryPath)
        }
        #expect(forger.wait(timeout: 30) == 0, "forger: \(Self.read(forgerLog))")
        let summary = try JSONDecoder().decode(ForgerSummary.self, from: Data(contentsOf: URL(fileURLWithPath: summaryPath)))
        let s = outcome.stats
        let refusals = ReplyRefusal.allCases.map { "\($0)=\(s.refused($0))" }.joined(separator: " ")
        print("forger: \(summary.sent) packets, attacks done in \(summary.work_s.map { "\($0) s" } ?? "-") \(summary.by_kind); engine refused: \(refusals); "
              + "foreign \(s.unmatched_foreign) malformed \(s.unmatched_malformed)")

        // The forger saw probes of every kind and sent every attack in full.
        for kind in ["echo4", "echo6", "syn4", "syn6"] { #expect(summary.seen[kind, default: 0] > 0, "forger saw no \(kind)") }
        #expect(summary.work_s != nil, "the forger ran out of time before its last attack")
        #expect(summary.sweeps_done == ["4": 1, "6": 1])
        #expect(summary.by_kind["seq_sweep", default: 0] == 6 * 65_536, "sweeps cut short: \(summary.by_kind)")
        #expect(summary.by_kind["tcp_brute", default: 0] > 0 && summary.by_kind["random_quote", default: 0] > 0)
        // Identifiers are not fixed per process: nearly every watched probe had its own.
        for (kind, distinct) in summary.distinct_echo_idents {
            let seen = summary.seen[kind, default: 0]
            #expect(Double(distinct) >= 0.9 * Double(seen), "\(kind): \(distinct) identifiers over \(seen) probes")
        }

        // The silent targets: every result a timeout, whatever the forger sent.
        for victim in Target.all where victim.role == .victim {
            let rs = outcome.results(for: victim)
            #expect(rs.count >= 10, "\(victim): only \(rs.count) results")
            let wrong = rs.filter { $0.status != .timeout }
            #expect(wrong.isEmpty, "\(victim): \(wrong.count) of \(rs.count) forged into \(wrong.map(\.status))")
        }
        // Controls: what the forger may say about its own addresses is believed (its packets
        // are well made and arrive), the real router's errors and TCP answers still count.
        for (t, reporter, type, code) in [(Target.watchedEcho4, "198.18.0.2", 3, 1), (Target.watchedEcho6, "2001:db8::2", 1, 3)] {
            let honest = outcome.results(for: t).filter { $0.status == .unreachable }
            #expect(!honest.isEmpty, "\(t): no honest error was attributed")
            #expect(honest.allSatisfy { $0.reporter?.description == reporter && $0.icmpType == type && $0.icmpCode == code })
        }
        let prohibited4 = outcome.results(for: .prohibited4), prohibited6 = outcome.results(for: .prohibited6)
        #expect(!prohibited4.isEmpty && prohibited4.allSatisfy { $0.status == .unreachable && $0.icmpCode == 13 },
                "\(prohibited4.map { "\($0.status) \($0.icmpType)/\($0.icmpCode)" })")
        #expect(!prohibited6.isEmpty && prohibited6.allSatisfy { $0.status == .unreachable && $0.icmpType == 1 && $0.icmpCode == 1 },
                "\(prohibited6.map { "\($0.status) \($0.icmpType)/\($0.icmpCode)" })")
        #expect(outcome.results(for: .open4).contains { $0.status == .ok })
        #expect(outcome.results(for: .open6).contains { $0.status == .ok })
        #expect(outcome.results(for: .closed4).contains { $0.status == .refused })
        // And the engine counted what it refused, by reason.
        for reason in [ReplyRefusal.noProbe, .quoteIdentityMismatch, .quoteDestinationMismatch, .peerMismatch,
                       .nonceMismatch, .tcpAckMismatch] {
            #expect(s.refused(reason) > 0, "no \(reason) refusal counted: \(refusals)")
        }
        #expect(s.unmatched_stale == ReplyRefusal.allCases.reduce(0) { $0 + s.refused($1) })
    }

    // MARK: - Probing

    struct Outcome: Sendable {
        var byTarget: [Target: [ProbeResult]]
        var stats: Engine.Stats
        func results(for t: Target) -> [ProbeResult] { byTarget[t] ?? [] }
    }

    /// Probes every target each 250 ms (3 s deadlines) until the forger's summary appears,
    /// then lets the last probes reach their deadlines. Bounded at 90 s. The router's own
    /// errors are probed every 1.5 s only: Linux answers packets for a prohibit route at most
    /// once a second after a burst of five (ip_error's per-source limit, not a sysctl).
    static func probeWhileForging(until summary: String) throws -> Outcome {
        let engine = try testEngine()
        var sent: [UInt64: Target] = [:], byTarget: [Target: [ProbeResult]] = [:]
        var cookie: UInt64 = 0, lastRound: Int64 = 0, round = 0, doneAt: Int64?
        let start = monotonicMs()
        while monotonicMs() - start < 90_000 {
            let now = monotonicMs()
            if doneAt == nil && FileManager.default.fileExists(atPath: summary) { doneAt = now }
            if let doneAt, now - doneAt > 3_500 && engine.inFlight == 0 { break }
            if doneAt == nil && now - lastRound >= 250 {
                lastRound = now
                round += 1
                let batch = Target.all.filter { $0.role != .control || round % 6 == 1 }.map { t -> ProbeRequest in
                    cookie += 1
                    sent[cookie] = t
                    return ProbeRequest(cookie: cookie, address: t.address, kind: t.kind, port: t.port, timeoutMilliseconds: 3000)
                }
                _ = engine.submit(batch)
            }
            for r in engine.poll(timeoutMilliseconds: 20) {
                if let t = sent[r.cookie] { byTarget[t, default: []].append(r) }
            }
        }
        return Outcome(byTarget: byTarget, stats: engine.stats)
    }

    // MARK: - Processes

    static func run(_ argv: [String], log: String, timeout: TimeInterval) throws -> Int32? {
        let p = try ChildProcess(argv, output: log)
        return p.wait(timeout: timeout)
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no \(path))" }
}

/// What the forger reports (forge-replies.py --summary).
struct ForgerSummary: Decodable {
    var elapsed_s: Double
    var work_s: Double?
    var sent: Int
    var by_kind: [String: Int]
    var seen: [String: Int]
    var distinct_echo_idents: [String: Int]
    var sweeps_done: [String: Int]
}

/// The probed targets. The batch order puts each victim right after the watched probe of its
/// kind: with slot-derived identities, the victim's would have been the watched one's neighbour.
struct Target: Hashable, Sendable, CustomStringConvertible {
    enum Role: Sendable { case victim, watched, control }
    static let victim4 = "198.18.2.1", victim6 = "2001:db8:2::1"

    let name: String
    let address: IPAddress
    let kind: ProbeKind
    let port: UInt16
    let role: Role
    var description: String { name }

    static func == (a: Target, b: Target) -> Bool { a.name == b.name }
    func hash(into h: inout Hasher) { h.combine(name) }

    init(_ name: String, _ role: Role, _ address: String, _ kind: ProbeKind = .icmp, port: UInt16 = 0) {
        self.name = name
        self.address = IPAddress(address)!
        self.kind = kind
        self.port = port
        self.role = role
    }

    static let watchedEcho4 = Target("watched echo v4", .watched, "198.18.1.1")
    static let victimEcho4 = Target("victim echo v4", .victim, victim4)
    static let watchedEcho6 = Target("watched echo v6", .watched, "2001:db8:1::1")
    static let victimEcho6 = Target("victim echo v6", .victim, victim6)
    static let open4 = Target("watched SYN v4 (open)", .watched, "198.18.1.1", .tcpSyn, port: 8080)
    static let victimSyn4 = Target("victim SYN v4", .victim, victim4, .tcpSyn, port: 8080)
    static let closed4 = Target("watched SYN v4 (closed)", .watched, "198.18.1.2", .tcpSyn, port: 8080)
    static let open6 = Target("watched SYN v6 (open)", .watched, "2001:db8:1::1", .tcpSyn, port: 8080)
    static let victimSyn6 = Target("victim SYN v6", .victim, victim6, .tcpSyn, port: 8080)
    static let prohibited4 = Target("prohibited v4", .control, "198.18.3.1")
    static let prohibited6 = Target("prohibited v6", .control, "2001:db8:3::1")

    static let all = [watchedEcho4, victimEcho4, watchedEcho6, victimEcho6, open4, victimSyn4, closed4,
                      open6, victimSyn6, prohibited4, prohibited6]
}

import Foundation
import Testing
@testable import ProbeAgentCore

/// Errors as they are: an ICMP error keeps its type, code, router and MTU, and time exceeded
/// and fragmentation needed are reasons of their own in the ledger, on /metrics, in the
/// remote-write status code and in the status file's records.
@Suite("ICMP errors as they are: ttl_exceeded, fragmentation_needed, the router that said it")
struct ICMPErrorOutcomeTests {
    static let router4 = IPAddress("198.18.20.2")!, router6 = IPAddress("2001:db8:20::2")!

    static func result(_ type: UInt8, _ code: UInt8, from r: IPAddress?, mtu: UInt32 = 0) -> ProbeResult {
        ProbeResult(cookie: 1, status: .unreachable, icmpType: type, icmpCode: code, reporter: r, mtu: mtu)
    }

    @Test("ICMP type/code by family → outcome", arguments: [
        (UInt8(11), UInt8(0), UInt8(4), ProbeOutcome.ttlExceeded),
        (11, 1, 4, .ttlExceeded),
        (3, 4, 4, .fragmentationNeeded),
        (3, 1, 4, .unreachable),
        (3, 13, 4, .unreachable),
        (3, 0, 6, .ttlExceeded),      // ICMPv6 time exceeded
        (2, 0, 6, .fragmentationNeeded), // ICMPv6 packet too big
        (1, 4, 6, .unreachable),
        (11, 0, 6, .unreachable),    // no such ICMPv6 error: not mistaken for v4's time exceeded
    ])
    func classification(type: UInt8, code: UInt8, family: UInt8, expected: ProbeOutcome) {
        let r = Self.result(type, code, from: family == 4 ? Self.router4 : Self.router6, mtu: expected == .fragmentationNeeded ? 1280 : 0)
        #expect(r.outcome == expected)
        #expect(r.icmpReport == ICMPReport(type: type, code: code, reporter: family == 4 ? Self.router4 : Self.router6,
                                           mtu: expected == .fragmentationNeeded ? 1280 : nil))
    }

    @Test func localErrorsAreNotICMP() {
        let noRoute = ProbeResult(cookie: 1, status: .unreachable, errno: ENETUNREACH)
        #expect(noRoute.outcome == .unreachable && noRoute.icmpReport == nil)
        let tooBigHere = ProbeResult(cookie: 1, status: .error, errno: EMSGSIZE)
        #expect(tooBigHere.outcome == .fragmentationNeeded)
        #expect(tooBigHere.icmpReport?.reporter == nil, "this host said it")
        #expect(ProbeResult(cookie: 1, status: .error, errno: EPERM).outcome == .error)
        #expect(ProbeResult(cookie: 1, status: .ok).icmpReport == nil)
    }

    static let yaml = """
        monitors:
          - id: path
            protocol: icmp
            targets: [198.18.22.2, 198.18.22.3]
        """

    @Test func theLedgerCountsEachReasonAndKeepsTheLatestRouterUntilAnAnswer() throws {
        let config = try AgentConfig.load(yaml: Self.yaml, file: "t.yaml")
        let schedule = Schedule(config: config, now: 0)
        let c = schedule.cookies(monitorID: "path")
        var ledger = ResultLedger(config: config)
        let ttl = ICMPReport(type: 11, code: 0, reporter: Self.router4, mtu: nil)
        let frag = ICMPReport(type: 3, code: 4, reporter: Self.router4, mtu: 1280)
        _ = ledger.record(c[0], monitorID: "path", outcome: .ttlExceeded, rttNanoseconds: 9, sentAtNanoseconds: 1, icmp: ttl)
        _ = ledger.record(c[0], monitorID: "path", outcome: .fragmentationNeeded, rttNanoseconds: 9, sentAtNanoseconds: 2, icmp: frag)
        var rec = try #require(ledger.record(for: c[0], monitorID: "path", target: "198.18.22.2"))
        #expect(rec.ttlExceeded == 1 && rec.fragmentationNeeded == 1 && rec.unreachable == 0 && rec.sent == 2)
        #expect(rec.lastOutcome == .fragmentationNeeded && rec.lastICMP == frag)
        #expect(ledger.record(for: c[1], monitorID: "path", target: "198.18.22.3") == nil)
        // The status file's JSON names the router and the MTU.
        let json = String(decoding: try JSONEncoder().encode(rec), as: UTF8.self)
        #expect(json.contains("\"reporter\":\"198.18.20.2\"") && json.contains("\"mtu\":1280"), "\(json)")
        _ = ledger.record(c[0], monitorID: "path", outcome: .ok, rttNanoseconds: 9, sentAtNanoseconds: 3)
        rec = try #require(ledger.record(for: c[0], monitorID: "path", target: "198.18.22.2"))
        #expect(rec.lastICMP == nil && rec.sent == 3, "an answer clears the latest error")
        #expect(ledger.lastICMP.isEmpty)
    }

    @Test func metricsHaveAReasonEachAndLossStillAddsUp() throws {
        let config = try AgentConfig.load(yaml: Self.yaml, file: "t.yaml")
        let schedule = Schedule(config: config, now: 0)
        let c = schedule.cookies(monitorID: "path")
        var ledger = ResultLedger(config: config)
        for o in [ProbeOutcome.ttlExceeded, .ttlExceeded, .fragmentationNeeded, .unreachable, .ok] {
            _ = ledger.record(c[0], monitorID: "path", outcome: o, rttNanoseconds: 1, sentAtNanoseconds: 1)
        }
        var r = TargetMetricsRenderer(ledger: ledger, schedule: schedule, config: config)
        let (page, _) = MetricsExpositionTests.text(&r)
        let block = #"monitor="path",target="198.18.22.2",protocol="icmp""#
        for line in ["probe_sent_total{\(block)} 5", "probe_replies_total{\(block)} 1",
                     "probe_errors_total{\(block),reason=\"ttl_exceeded\"} 2",
                     "probe_errors_total{\(block),reason=\"fragmentation_needed\"} 1",
                     "probe_errors_total{\(block),reason=\"unreachable\"} 1"] {
            #expect(page.contains(line + "\n"), "missing: \(line)")
        }
    }

    @Test func remoteWriteStatusCodesKeepTheOldOnesAndAddTwo() {
        func code(_ o: ProbeOutcome, suppressed: Bool = false) -> Double {
            SeriesMapping.statusCode(ResultRecord(monitorID: "m", target: "t", probeProtocol: .icmp, outcome: o, suppressed: suppressed,
                                                  rttNanoseconds: nil, timestampMilliseconds: 1, labels: []))
        }
        #expect([ProbeOutcome.ok, .timeout, .refused, .unreachable, .error, .unresolved].map { code($0) } == [0, 1, 2, 3, 4, 5])
        #expect(code(.timeout, suppressed: true) == 6)
        #expect(code(.ttlExceeded) == 7 && code(.fragmentationNeeded) == 8)
        #expect(code(.ttlExceeded, suppressed: true) == 6)
    }

    @Test func spilledRecordsOfEveryOutcomeDecodeAndOldBytesStillDo() throws {
        for o in ProbeOutcome.allCases {
            let r = ResultRecord(monitorID: "m", target: "t", probeProtocol: .icmp, outcome: o, suppressed: false,
                                 rttNanoseconds: nil, timestampMilliseconds: 7, labels: [])
            #expect(try ResultRecord(decoding: r.encoded()) == r)
        }
        // A record an older agent wrote: version 1, icmp, outcome index 3 (unreachable), no flags.
        let old: [UInt8] = [1, 0, 3, 0] + [7, 0, 0, 0, 0, 0, 0, 0] + [1, 0, 0x6d] + [1, 0, 0x74] + [0, 0]
        let decoded = try ResultRecord(decoding: old)
        #expect(decoded.outcome == .unreachable && decoded.monitorID == "m" && decoded.target == "t")
        #expect(ProbeOutcome.allCases.prefix(6) == [.ok, .timeout, .refused, .unreachable, .error, .unresolved],
                "the stored indexes of older outcomes never move")
    }
}

import Testing
@testable import ProbeAgentCore

@Suite("Metrics: exposition writer, per-target renderer, RTT histograms, metrics config")
struct MetricsExpositionTests {
    static let yaml = """
        monitors:
          - id: web
            protocol: tcp-connect
            port: 443
            targets: [127.0.0.1, 127.0.0.2]
            labels: {team: "net\\\\ops \\"core\\""}
        metrics:
          rtt_buckets: [1ms, 10ms]
        """

    static func text(_ r: inout TargetMetricsRenderer, maxBytes: Int = 1 << 20) -> (String, Int) {
        var out: [UInt8] = [], chunks = 0
        while let c = r.nextChunk(maxBytes: maxBytes) { out += c; chunks += 1 }
        return (String(decoding: out, as: UTF8.self), chunks)
    }

    @Test func numbersAndEscapes() {
        var w = ExpositionWriter()
        w.append(uint: 0); w.append(" "); w.append(uint: 18_446_744_073_709_551_615); w.append(" ")
        w.append(double: 0.25); w.append(" "); w.append(double: .infinity); w.append(" "); w.append(double: .nan); w.append(" ")
        w.append(double: 3)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "0 18446744073709551615 0.25 +Inf NaN 3")
        var l = ExpositionWriter()
        l.sample("x", [("a", "q\"b\\c\nd")], 1)
        #expect(String(decoding: l.bytes, as: UTF8.self) == "x{a=\"q\\\"b\\\\c\\nd\"} 1\n")
        #expect(ExpositionWriter.bound(0.0025) == "0.0025" && ExpositionWriter.bound(1) == "1")
    }

    @Test func everyFamilyIsOneBlockAndLossAddsUp() throws {
        let config = try AgentConfig.load(yaml: Self.yaml, file: "t.yaml")
        let schedule = Schedule(config: config, now: 0)
        let cookies = schedule.cookies(monitorID: "web") // 127.0.0.1, 127.0.0.2
        var ledger = ResultLedger(config: config)
        for (o, rtt) in [(ProbeOutcome.ok, UInt64(500_000)), (.ok, 5_000_000), (.ok, 50_000_000), (.refused, nil), (.timeout, nil)] {
            _ = ledger.record(cookies[0], monitorID: "web", outcome: o, rttNanoseconds: rtt, sentAtNanoseconds: 1)
        }
        _ = ledger.record(cookies[1], monitorID: "web", outcome: .ok, rttNanoseconds: 2_000, sentAtNanoseconds: 1)
        var r = TargetMetricsRenderer(ledger: ledger, schedule: schedule, config: config)
        let (page, _) = Self.text(&r)
        let block = #"monitor="web",target="127.0.0.1",protocol="tcp-connect",team="net\\ops \"core\"""#
        for line in ["probe_sent_total{\(block)} 5", "probe_replies_total{\(block)} 3", "probe_timeouts_total{\(block)} 1",
                     "probe_errors_total{\(block),reason=\"refused\"} 1", "probe_errors_total{\(block),reason=\"unreachable\"} 0",
                     "probe_up{\(block)} 0", "probe_round_trip_seconds_bucket{\(block),le=\"0.001\"} 1",
                     "probe_round_trip_seconds_bucket{\(block),le=\"0.01\"} 2", "probe_round_trip_seconds_bucket{\(block),le=\"+Inf\"} 3",
                     "probe_round_trip_seconds_sum{\(block)} 0.0555", "probe_round_trip_seconds_count{\(block)} 3"] {
            #expect(page.contains(line + "\n"), "missing: \(line)")
        }
        // Each family's TYPE line appears once, and its samples follow it without interruption.
        var seen: [String] = []
        for line in page.split(separator: "\n") where !line.hasPrefix("#") {
            let family = String(line.prefix { $0 != "{" }).replacingOccurrences(of: "_bucket", with: "")
                .replacingOccurrences(of: "_sum", with: "").replacingOccurrences(of: "_count", with: "")
            if seen.last != family {
                #expect(!seen.contains(family), "\(family) split in two blocks")
                seen.append(family)
            }
        }
        #expect(seen.count == 8)
    }

    @Test func chunksNeverSplitALineAndAReusedSlotStartsOver() throws {
        let config = try AgentConfig.load(yaml: Self.yaml, file: "t.yaml")
        var schedule = Schedule(config: config, now: 0)
        var ledger = ResultLedger(config: config)
        let first = schedule.cookies(monitorID: "web")[0]
        _ = ledger.record(first, monitorID: "web", outcome: .ok, rttNanoseconds: 100, sentAtNanoseconds: 1)
        // A reload that changes the monitor gives slot 0 to a new entry (next generation).
        let changed = try AgentConfig.load(yaml: Self.yaml.replacingOccurrences(of: "port: 443", with: "port: 444"), file: "t.yaml")
        let report = schedule.apply(changed, now: 0)
        ledger.apply(changed, removedSlots: report.removedCookies.map(\.slot), recount: [:])
        let reused = try #require(schedule.cookies(monitorID: "web").first { $0.slot == first.slot })
        #expect(reused.generation != first.generation)
        _ = ledger.record(reused, monitorID: "web", outcome: .ok, rttNanoseconds: 20_000_000, sentAtNanoseconds: 1)
        #expect(ledger.rtt?.count(slot: 0, bucket: 0) == 0 && ledger.rtt?.count(slot: 0, bucket: 2) == 1, "the slot's histogram restarted for the new entry")
        #expect(ledger.counters(for: reused)?.sent == 1)
        var small = TargetMetricsRenderer(ledger: ledger, schedule: schedule, config: changed)
        var chunks: [[UInt8]] = []
        while let c = small.nextChunk(maxBytes: 64) { chunks.append(c) }
        #expect(chunks.count > 5)
        #expect(chunks.allSatisfy { $0.last == UInt8(ascii: "\n") })
        var whole = TargetMetricsRenderer(ledger: ledger, schedule: schedule, config: changed)
        #expect(Self.text(&whole).0 == String(decoding: chunks.flatMap { $0 }, as: UTF8.self))
    }

    @Test func histogramsOffAndBadBuckets() throws {
        let off = try AgentConfig.load(yaml: "monitors: []\nmetrics:\n  per_target_histograms: false\n", file: "t.yaml")
        #expect(ResultLedger(config: off).rtt == nil)
        let errors = configErrors("monitors: []\nmetrics:\n  rtt_buckets: [10ms, 5ms]\n  per_target_histograms: maybe\n  extra: 1\n")
        #expect(errors.contains { $0.message.contains("strictly increasing") && $0.line == 3 })
        #expect(errors.contains { $0.message.contains("per_target_histograms") && $0.line == 4 })
        #expect(errors.contains { $0.message.contains("extra") && $0.line == 5 })
        #expect(configErrors("monitors: []\nmetrics:\n  rtt_buckets: [fast]\n").contains { $0.message.contains("invalid bucket 'fast'") })
        #expect(configErrors("monitors: []\nhttp:\n  listen: 127.0.0.1:0\n").isEmpty, "port 0: any free port")
    }
}

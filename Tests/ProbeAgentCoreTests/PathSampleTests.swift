import Testing
@testable import ProbeAgentCore

/// Path samples on their way to the store: what a completed trace hands over, and their
/// spill-log encoding (version 2; probe results stay version 1).
@Suite("Path samples: from a trace to the pipeline, through the spill encoding")
struct PathSampleTests {
    typealias P = PathWatchTests

    @Test func aTraceShipsHopsChangesAndPerHopSamplesWhenAskedFor() throws {
        var config = P.config()
        config.monitors[0].labels = ["site": "lab"]
        config.monitors[0].path?.perHopSeries = true
        var loop = ProbeLoop(config: config, now: 0, shipping: true, statusInterval: 100 * P.s)
        _ = P.run(&loop, net: P.Network(routers: [P.r1, nil]), from: 0, to: 12 * P.s)
        let samples = loop.takeResults().filter { $0.path != nil }
        let traces = Int(try #require(loop.paths.tracker(PathKey(monitorID: "p", target: "198.18.22.2"))).traces)
        #expect(traces >= 1)
        // Per trace: changes, hops, 3 loss ratios, 2 RTTs (hop 2 never answered).
        #expect(samples.count == 7 * traces)
        let first = Array(samples.prefix(7))
        #expect(first.map { $0.path!.metric } == [.changes, .hops, .hopLossRatio, .hopRTT, .hopLossRatio, .hopLossRatio, .hopRTT])
        #expect(first[1].path?.value == 3)
        #expect(first[4].labels.map(\.0) == ["site", "hop", "router"] && first[4].labels.suffix(2).map(\.1) == ["2", "*"])
        #expect(first[4].path?.value == 1)
        #expect(first[3].path?.value == 0.001 && first[3].labels.last?.1 == "198.18.20.2")
        #expect(first.allSatisfy { $0.target == "198.18.22.2" && $0.monitorID == "p" })
        #expect(loop.ledger.counters.first?.ttlExceeded == 0)
    }

    @Test func withoutPerHopSeriesOnlyHopsAndChangesAreShipped() {
        var loop = ProbeLoop(config: P.config(), now: 0, shipping: true, statusInterval: 100 * P.s)
        _ = P.run(&loop, net: P.Network(), from: 0, to: 12 * P.s)
        let metrics = Set(loop.takeResults().compactMap { $0.path?.metric })
        #expect(metrics == [.hops, .changes])
    }

    @Test func pathSamplesSurviveTheSpillEncodingAndResultsKeepTheirs() throws {
        let perHop = ResultRecord(path: PathSample(.hopRTT, 0.0125), monitorID: "p", target: "dual.test", probeProtocol: .tcpSyn,
                                  timestampMilliseconds: 1_700_000_000_123, labels: [("site", "lab"), ("address", "198.18.22.2")],
                                  hop: (2, "198.18.23.2"))
        let bytes = perHop.encoded()
        #expect(bytes.first == 2)
        let back = try ResultRecord(decoding: bytes)
        #expect(back == perHop)
        #expect(back.labels.map(\.0) == ["address", "site", "hop", "router"], "hop and router stay last, after the sorted ones")
        let hops = ResultRecord(path: PathSample(.hops, 3), monitorID: "p", target: "198.18.22.2", probeProtocol: .icmp,
                                timestampMilliseconds: 1, labels: [])
        #expect(try ResultRecord(decoding: hops.encoded()) == hops)
        let result = ResultRecord(monitorID: "p", target: "198.18.22.2", probeProtocol: .icmp, outcome: .ok, suppressed: false,
                                  rttNanoseconds: 5, timestampMilliseconds: 1, labels: [])
        #expect(result.encoded().first == 1, "probe results keep version 1")
        var bad = perHop.encoded()
        bad[bad.count - 9] = 9
        #expect(throws: ResultRecord.DecodeError.badValue("path metric 9")) { try ResultRecord(decoding: bad) }
        let noHop = ResultRecord(path: PathSample(.hopRTT, 1), monitorID: "p", target: "t", probeProtocol: .icmp,
                                 timestampMilliseconds: 1, labels: [])
        #expect(throws: ResultRecord.DecodeError.self) { try ResultRecord(decoding: noHop.encoded()) }
        #expect(SeriesMapping.samples(of: perHop, externalLabels: []).map { $0.labels[0].value } == ["probe_path_hop_rtt_seconds"])
        // A value the agent never writes (found by fuzz-result-record: a NaN, which would not
        // even equal itself decoded) is refused like any other bad field.
        for value in [Double.nan, .infinity, -.infinity] {
            let odd = ResultRecord(path: PathSample(.hops, value), monitorID: "p", target: "t", probeProtocol: .icmp,
                                   timestampMilliseconds: 1, labels: [])
            #expect(throws: ResultRecord.DecodeError.self, "\(value)") { try ResultRecord(decoding: odd.encoded()) }
        }
    }
}

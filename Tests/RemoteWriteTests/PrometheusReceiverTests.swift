import Foundation
import RemoteWrite
import Testing

/// Round trips through Debian's Prometheus 2.42 (remote-write receiver on, 2 h out-of-order
/// window), started on a free loopback port by Tests/support/prometheus.sh.
@Suite(
    "Prometheus 2.42 as receiver", .serialized,
    .enabled(if: Receiver.Kind.prometheus.installed,
             "Debian package prometheus (and curl) not installed: scripts/install-deps.sh"))
struct PrometheusReceiverTests {
    /// Series like the shipper will send: 3 s cadence, two targets, success and RTT.
    static func probeSeries(run: String, end: Int64, count: Int) throws -> [Series] {
        let ts = (0..<count).map { end - Int64(count - 1 - $0) * 3000 }
        return try ["127.0.0.1", "::1"].flatMap { target in
            [
                try Series(
                    name: "probe_success",
                    labels: [("monitor", "lo"), ("target", target), ("protocol", "icmp"), ("test_run", run)],
                    samples: ts.enumerated().map { ($1, $0 % 7 == 0 ? 0 : 1) }),
                try Series(
                    name: "probe_rtt_seconds",
                    labels: [("monitor", "lo"), ("target", target), ("protocol", "icmp"), ("test_run", run)],
                    samples: ts.enumerated().map { ($1, 0.0001 + Double($0) * 0.0000125) }),
            ]
        }
    }

    /// The shape of /api/v1/query answers (instant vectors and range vectors).
    struct QueryReply: Decodable {
        struct Series: Decodable {
            var metric: [String: String]
            var value: Point?
            var values: [Point]?
        }
        /// `[seconds, "value"]`
        struct Point: Decodable {
            var ms: Int64
            var value: String
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                ms = Int64((try c.decode(Double.self) * 1000).rounded())
                value = try c.decode(String.self)
            }
        }
        struct Payload: Decodable { var result: [Series] }
        var status: String
        var data: Payload?
        var error: String?
    }

    static func query(_ base: String, _ promQL: String, at: Int64) async throws -> [QueryReply.Series] {
        let reply = try await HTTP.get("\(base)/api/v1/query?query=\(HTTP.q(promQL))&time=\(Double(at) / 1000)")
        try #require(reply.status == 200, "query \(promQL): \(reply.status) \(reply.body)")
        return try #require(try JSONDecoder().decode(QueryReply.self, from: Data(reply.body.utf8)).data).result
    }

    static func instantVector(_ base: String, query promQL: String, at: Int64) async throws
        -> [[String: String]: String]
    {
        var out: [[String: String]: String] = [:]
        for s in try await query(base, promQL, at: at) { out[s.metric] = s.value?.value }
        return out
    }

    /// Every raw sample of the series matching `selector`, read back with a range-vector query.
    static func rawSamples(_ base: String, selector: String, at: Int64) async throws
        -> [[String: String]: [(Int64, Double)]]
    {
        var out: [[String: String]: [(Int64, Double)]] = [:]
        for s in try await query(base, "\(selector)[3h]", at: at) {
            out[s.metric] = (s.values ?? []).map { ($0.ms, Double($0.value) ?? .nan) }
        }
        return out
    }

    @Test("every sample arrives with its labels and timestamp")
    func roundTrip() async throws {
        let prom = try Receiver.start(.prometheus, tag: "rt")
        defer { prom.stop() }
        let run = "rt\(getpid())"
        let end = nowMs() - 1000
        let series = try Self.probeSeries(run: run, end: end, count: 200)  // 4 series × 200 = 800 samples

        let reply = try await HTTP.postRemoteWrite(prom.writeURL, body: try WriteRequestEncoder.encode(series))
        #expect(reply.status == 204, "body: \(reply.body)")

        // count_over_time per series: the number of samples, as an operator would check.
        for metric in ["probe_success", "probe_rtt_seconds"] {
            let counts = try await Self.instantVector(
                prom.baseURL, query: "count_over_time(\(metric){test_run=\"\(run)\"}[1h])", at: end)
            #expect(counts.count == 2, "\(metric): \(counts)")
            for (labels, value) in counts { #expect(value == "200", "\(metric) \(labels)") }
        }

        // And every raw sample, exactly.
        let got = try await Self.rawSamples(
            prom.baseURL, selector: "{__name__=~\"probe_.*\",test_run=\"\(run)\"}", at: end)
        #expect(got.count == series.count)
        for s in series {
            let labels = Dictionary(uniqueKeysWithValues: s.labels.map { ($0.0, $0.1) })
            let samples = try #require(got[labels], "series \(labels) missing; got \(got.keys)")
            #expect(samples.map(\.0) == s.samples.map(\.timestampMs))
            #expect(samples.map(\.1) == s.samples.map(\.value))
        }
    }

    @Test("a body that is not snappy is answered 400")
    func malformed() async throws {
        let prom = try Receiver.start(.prometheus, tag: "bad")
        defer { prom.stop() }
        let notSnappy = try await HTTP.postRemoteWrite(prom.writeURL, body: Data("this is not snappy".utf8))
        print("Prometheus 2.42, body not snappy: \(notSnappy.status) \(notSnappy.body.debugDescription)")
        #expect(notSnappy.status == 400)
        #expect(notSnappy.body.contains("snappy: corrupt input"))

        let notProtobuf = try await HTTP.postRemoteWrite(
            prom.writeURL, body: try Snappy.compress(Data([0x0a, 0xff, 0xff, 0xff, 0x0f])))
        print("Prometheus 2.42, snappy but not protobuf: \(notProtobuf.status) \(notProtobuf.body.debugDescription)")
        #expect(notProtobuf.status == 400)
    }

    @Test("a sample older than the out-of-order window: what Prometheus 2.42 answers")
    func tooOld() async throws {
        let prom = try Receiver.start(.prometheus, tag: "old")
        defer { prom.stop() }
        let run = "old\(getpid())"
        let now = nowMs()

        // On an empty TSDB there is no head max time yet, so nothing counts as too old: a
        // sample 3 h old is accepted. (The shipper cannot rely on that after the first write.)
        let firstEver = try Series(
            name: "probe_success", labels: [("test_run", run), ("target", "empty-head")],
            samples: [(now - 3 * 3_600_000, 1)])
        let emptyHead = try await HTTP.postRemoteWrite(prom.writeURL, body: try WriteRequestEncoder.encode([firstEver]))
        print("Prometheus 2.42, sample 3 h old into an empty TSDB: \(emptyHead.status) \(emptyHead.body.debugDescription)")
        #expect(emptyHead.status == 204, "body: \(emptyHead.body)")

        // A current sample, so the head's max time is "now".
        let fresh = try Series(name: "probe_success", labels: [("test_run", run), ("target", "a")], samples: [(now, 1)])
        let first = try await HTTP.postRemoteWrite(prom.writeURL, body: try WriteRequestEncoder.encode([fresh]))
        #expect(first.status == 204, "body: \(first.body)")

        // 3 h old: beyond the 2 h out-of-order window → refused.
        let old = try Series(
            name: "probe_success", labels: [("test_run", run), ("target", "a")], samples: [(now - 3 * 3_600_000, 1)])
        let reply = try await HTTP.postRemoteWrite(prom.writeURL, body: try WriteRequestEncoder.encode([old]))
        print("Prometheus 2.42, sample 3 h old: \(reply.status) \(reply.body.debugDescription)")
        #expect(reply.status == TooOld.status)
        #expect(reply.body == TooOld.body)

        // One such sample in a request rejects all of it: the good sample of a new series in the
        // same request is not stored either.
        let good = try Series(
            name: "probe_success", labels: [("test_run", run), ("target", "b")], samples: [(now, 1)])
        let mixed = try await HTTP.postRemoteWrite(prom.writeURL, body: try WriteRequestEncoder.encode([good, old]))
        print("Prometheus 2.42, good + 3 h old in one request: \(mixed.status) \(mixed.body.debugDescription)")
        #expect(mixed.status == TooOld.status)
        let stored = try await Self.rawSamples(
            prom.baseURL, selector: "probe_success{test_run=\"\(run)\",target=\"b\"}", at: now + 1000)
        #expect(stored.isEmpty, "the good sample of a rejected request was stored: \(stored)")

        // 1 h old: inside the window → accepted (out of order, but allowed).
        let inWindow = try Series(
            name: "probe_success", labels: [("test_run", run), ("target", "a")], samples: [(now - 3_600_000, 1)])
        let ok = try await HTTP.postRemoteWrite(prom.writeURL, body: try WriteRequestEncoder.encode([inWindow]))
        #expect(ok.status == 204, "body: \(ok.body)")
    }

    /// Prometheus 2.42's answer to a sample older than (head max time − out-of-order window).
    enum TooOld {
        static let status = 500
        static let body = "too old sample\n"
    }
}

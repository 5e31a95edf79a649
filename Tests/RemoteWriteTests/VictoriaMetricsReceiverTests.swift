import Foundation
import RemoteWrite
import Testing

/// Round trip through Debian's VictoriaMetrics, started on a free loopback port by
/// Tests/support/victoria-metrics.sh.
@Suite(
    "VictoriaMetrics as receiver", .serialized,
    .enabled(if: Receiver.Kind.victoriaMetrics.installed,
             "Debian package victoria-metrics (and curl) not installed: scripts/install-deps.sh"))
struct VictoriaMetricsReceiverTests {
    struct Exported: Decodable {
        var metric: [String: String]
        var values: [Double]
        var timestamps: [Int64]
    }

    /// Everything VictoriaMetrics holds for `selector`, via /api/v1/export (raw samples, JSON lines).
    static func export(_ base: String, selector: String, from: Int64) async throws -> [Exported] {
        let reply = try await HTTP.get(
            "\(base)/api/v1/export?match%5B%5D=\(HTTP.q(selector))&start=\(from / 1000 - 1)")
        try #require(reply.status == 200, "export: \(reply.status) \(reply.body)")
        return try reply.body.split(separator: "\n").map {
            try JSONDecoder().decode(Exported.self, from: Data($0.utf8))
        }
    }

    @Test("every sample arrives with its labels and timestamp")
    func roundTrip() async throws {
        let vm = try Receiver.start(.victoriaMetrics, tag: "rt")
        defer { vm.stop() }
        let run = "rt\(getpid())"
        let end = nowMs() - 1000
        let series = try PrometheusReceiverTests.probeSeries(run: run, end: end, count: 200)
        let total = series.reduce(0) { $0 + $1.samples.count }

        let reply = try await HTTP.postRemoteWrite(vm.writeURL, body: try WriteRequestEncoder.encode(series))
        #expect(reply.status == 204, "body: \(reply.body)")

        // Samples become searchable once VictoriaMetrics flushes its in-memory buffers (~1 s);
        // ask it to flush now, then poll (bounded).
        _ = try? await HTTP.get("\(vm.baseURL)/internal/force_flush")
        let selector = "{__name__=~\"probe_.*\",test_run=\"\(run)\"}"
        let start = series.map { $0.samples[0].timestampMs }.min()!
        let got = try await eventually(seconds: 15) { () -> [Exported]? in
            let e = try await Self.export(vm.baseURL, selector: selector, from: start)
            return e.reduce(0) { $0 + $1.timestamps.count } >= total ? e : nil
        }
        let exported = try #require(got, "VictoriaMetrics did not return all \(total) samples within 15 s")
        #expect(exported.count == series.count)
        for s in series {
            let labels = Dictionary(uniqueKeysWithValues: s.labels.map { ($0.0, $0.1) })
            let e = try #require(exported.first { $0.metric == labels }, "series \(labels) missing")
            #expect(e.timestamps == s.samples.map(\.timestampMs))
            // VictoriaMetrics stores floats as decimal mantissa + exponent: compare to 1e-12.
            for (a, b) in zip(e.values, s.samples.map(\.value)) {
                #expect(abs(a - b) <= 1e-12 * max(1, abs(b)), "\(a) != \(b)")
            }
        }
    }

    @Test("a body that is not snappy is answered 400")
    func malformed() async throws {
        let vm = try Receiver.start(.victoriaMetrics, tag: "bad")
        defer { vm.stop() }
        let reply = try await HTTP.postRemoteWrite(vm.writeURL, body: Data("this is not snappy".utf8))
        print("VictoriaMetrics, body not snappy: \(reply.status) \(reply.body.debugDescription)")
        #expect(reply.status == 400)
    }
}

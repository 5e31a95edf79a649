import Foundation
import Testing

@testable import RemoteWrite

@Suite("Label layouts and the request writer")
struct LabelLayoutTests {
    static let t0: Int64 = 1_700_000_000_000

    static func layout() throws -> LabelLayout {
        try LabelLayout([("site", .fixed("zürich ✓")), ("monitor", .fixed("lo")), ("target", .perSeries(1)),
                         ("__name__", .perSeries(0)), ("_hidden", .fixed("h")), ("Zone", .fixed("a"))])
    }

    @Test("series written from a layout are SwiftProtobuf's exact bytes for the same sorted series")
    func matchesReference() throws {
        let layout = try Self.layout()
        var writer = RequestWriter()
        var expected: [Series] = []
        let rows: [(String, String, Int64, Double)] = [
            ("probe_success", "127.0.0.2", Self.t0, 1), ("probe_status_code", "127.0.0.2", Self.t0, 0),
            ("probe_rtt_seconds", String(repeating: "h", count: 300), 0, .nan), ("probe_success", "::1", -1, -0.0),
        ]
        for (metric, target, ts, value) in rows {
            try writer.append(layout, values: [metric, target], timestampMs: ts, value: value)
            expected.append(try Series(labels: [("__name__", metric), ("target", target), ("site", "zürich ✓"), ("monitor", "lo"),
                                                ("_hidden", "h"), ("Zone", "a")], samples: [(ts, value)]))
        }
        // Series(labels:) sorts by byte order: "Zone" < "__name__" < "_hidden" < "monitor" < …
        #expect(expected[0].labels.map(\.0) == ["Zone", "__name__", "_hidden", "monitor", "site", "target"])
        #expect(try Data(writer.protobuf) == WriteRequestEncoder.referenceProtobuf(expected))
        #expect(try WriteRequestEncoder.decode(WriteRequestEncoder.body(protobuf: writer.protobuf)) == expected)
    }

    @Test("a layout refuses what remote write forbids, naming it")
    func invalidLayouts() {
        #expect(throws: RemoteWriteError.invalidLabelName("bad-name")) {
            try LabelLayout([("__name__", .perSeries(0)), ("bad-name", .fixed("x"))])
        }
        #expect(throws: RemoteWriteError.emptyLabelValue(name: "site")) {
            try LabelLayout([("__name__", .perSeries(0)), ("site", .fixed(""))])
        }
        #expect(throws: RemoteWriteError.duplicateLabelName("site")) {
            try LabelLayout([("__name__", .perSeries(0)), ("site", .fixed("a")), ("site", .fixed("b"))])
        }
        #expect(throws: RemoteWriteError.missingMetricName) { try LabelLayout([("site", .fixed("a"))]) }
        #expect(throws: RemoteWriteError.invalidMetricName("1x")) { try LabelLayout([("__name__", .fixed("1x"))]) }
        #expect(throws: (any Error).self) { try LabelLayout([("__name__", .perSeries(0)), ("target", .perSeries(2))]) }
    }

    @Test("an empty per-series value or a bad metric name is refused and nothing is written")
    func invalidValues() throws {
        let layout = try Self.layout()
        var writer = RequestWriter()
        #expect(throws: RemoteWriteError.emptyLabelValue(name: "target")) {
            try writer.append(layout, values: ["probe_success", ""], timestampMs: Self.t0, value: 1)
        }
        #expect(throws: RemoteWriteError.invalidMetricName("probe-success")) {
            try writer.append(layout, values: ["probe-success", "::1"], timestampMs: Self.t0, value: 1)
        }
        #expect(writer.isEmpty)
    }
}

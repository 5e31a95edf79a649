import CSnappy
import Foundation
import Testing

@testable import RemoteWrite

@Suite("WriteRequest encoding")
struct EncodingTests {
    static let t0: Int64 = 1_700_000_000_000

    @Test("encode → decode gives back the same series")
    func roundTrip() throws {
        let series = [
            try Series(
                name: "probe_success",
                labels: [("target", "127.0.0.1"), ("monitor", "lo"), ("protocol", "icmp")],
                samples: [(Self.t0, 1), (Self.t0 + 3000, 0), (Self.t0 + 6000, 1)]),
            try Series(
                name: "probe_rtt_seconds",
                labels: [("target", "::1"), ("monitor", "lo6"), ("protocol", "icmp"), ("site", "zürich ✓")],
                samples: [(Self.t0, 0.000123), (Self.t0 + 3000, .infinity), (Self.t0 + 6000, .nan)]),
        ]
        let body = try WriteRequestEncoder.encode(series)
        let decoded = try WriteRequestEncoder.decode(body)
        #expect(decoded == series)
        #expect(decoded[1][label: "site"] == "zürich ✓")
        #expect(decoded[1].samples[2].value.isNaN)
    }

    @Test("the hand-written wire writer emits SwiftProtobuf's exact bytes")
    func wireWriterMatchesSwiftProtobuf() throws {
        let long = String(repeating: "x", count: 300) // a length that needs a two-byte varint
        let values: [Double] = [0, -0.0, 1, -1, 0.000123, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, 5e-324]
        let stamps: [Int64] = [0, 1, -1, 127, 128, 16_383, 16_384, Self.t0, .max, .min]
        var series: [Series] = []
        for (i, v) in values.enumerated() {
            series.append(try Series(name: "m\(i)", labels: [("target", "127.0.0.\(i)"), ("long", long), ("u", "zürich ✓")],
                                     samples: [(stamps[i], v), (stamps[i] == .max ? .max : stamps[i] + 1, v)]))
        }
        series.append(try Series(sortedLabels: [("__name__", "probe_success"), ("monitor", "lo"), ("target", "::1")],
                                 samples: (0..<200).map { (Self.t0 + Int64($0) * 3000, Double($0 % 2)) }))
        #expect(try WriteRequestEncoder.protobuf(series) == WriteRequestEncoder.referenceProtobuf(series))
        #expect(try WriteRequestEncoder.protobuf([]) == WriteRequestEncoder.referenceProtobuf([]))
        #expect(try WriteRequestEncoder.decode(WriteRequestEncoder.encode(series)) == series)
        for v: UInt64 in [0, 1, 127, 128, 16_383, 16_384, .max] {
            var reference = 0, x = v
            repeat { reference += 1; x >>= 7 } while x > 0
            #expect(WireWriter.varintSize(v) == reference, "varint size of \(v)")
        }
    }

    @Test("labels are sorted by name, __name__ first; samples by time")
    func sorting() throws {
        let s = try Series(
            labels: [("target", "a"), ("monitor", "m"), ("__name__", "x"), ("_hidden", "h"), ("af", "1")],
            samples: [(30, 3), (10, 1), (20, 2), (10, 1.5)])
        #expect(s.labels.map(\.0) == ["__name__", "_hidden", "af", "monitor", "target"])
        #expect(s.samples.map(\.timestampMs) == [10, 10, 20, 30])
        #expect(s.samples.map(\.value) == [1, 1.5, 2, 3])  // stable for equal timestamps
        #expect(s.name == "x")
    }

    @Test("the wire order is the sorted order")
    func wireOrder() throws {
        let s = try Series(labels: [("z", "1"), ("__name__", "m"), ("a", "2")], samples: [(2, 0), (1, 0)])
        let request = try RWWriteRequest(serializedBytes: try WriteRequestEncoder.protobuf([s]))
        #expect(request.timeseries[0].labels.map(\.name) == ["__name__", "a", "z"])
        #expect(request.timeseries[0].samples.map(\.timestamp) == [1, 2])
    }

    @Test(
        "label rules are enforced",
        arguments: [
            ([("__name__", "m"), ("", "v")], RemoteWriteError.invalidLabelName("")),
            ([("__name__", "m"), ("1abc", "v")], .invalidLabelName("1abc")),
            ([("__name__", "m"), ("a-b", "v")], .invalidLabelName("a-b")),
            ([("__name__", "m"), ("a:b", "v")], .invalidLabelName("a:b")),
            ([("__name__", "m"), ("é", "v")], .invalidLabelName("é")),
            ([("__name__", "m"), ("a", "")], .emptyLabelValue(name: "a")),
            ([("__name__", "")], .emptyLabelValue(name: "__name__")),
            ([("__name__", "m"), ("a", "1"), ("a", "2")], .duplicateLabelName("a")),
            ([("a", "1")], .missingMetricName),
            ([("__name__", "9lives")], .invalidMetricName("9lives")),
            ([("__name__", "a-b")], .invalidMetricName("a-b")),
        ] as [([(String, String)], RemoteWriteError)])
    func labelRules(labels: [(String, String)], expected: RemoteWriteError) {
        #expect(throws: expected) { try Series(labels: labels, samples: [(0, 0)]) }
    }

    @Test("valid names are accepted, including recording-rule style metric names")
    func validNames() throws {
        let s = try Series(
            labels: [("__name__", "job:probe_rtt_seconds:avg5m"), ("_a", "1"), ("A9_z", "2")],
            samples: [(0, 0)])
        #expect(s.labels.map(\.0) == ["A9_z", "__name__", "_a"])  // byte order: 'A' < '_'
    }

    @Test("a series needs a sample")
    func noSamples() {
        #expect(throws: RemoteWriteError.noSamples(metric: "m")) { try Series(name: "m", samples: []) }
    }

    @Test("the body is one snappy block that libsnappy itself uncompresses")
    func snappyBlock() throws {
        let series = [try Series(name: "probe_success", labels: [("target", "t")], samples: [(Self.t0, 1)])]
        let body = try WriteRequestEncoder.encode(series)
        let raw = try WriteRequestEncoder.protobuf(series)
        // Framed snappy would start with the stream identifier chunk 0xff 06 00 00 "sNaPpY".
        #expect(body.first != 0xff)
        var length = 0
        var out = [CChar](repeating: 0, count: raw.count)
        let status = body.withUnsafeBytes { src in
            snappy_uncompressed_length(src.baseAddress!.assumingMemoryBound(to: CChar.self), src.count, &length)
        }
        #expect(status == SNAPPY_OK)
        #expect(length == raw.count)
        let status2 = body.withUnsafeBytes { src in
            snappy_uncompress(src.baseAddress!.assumingMemoryBound(to: CChar.self), src.count, &out, &length)
        }
        #expect(status2 == SNAPPY_OK)
        #expect(Data(out.map { UInt8(bitPattern: $0) }) == raw)
        #expect(snappy_validate_compressed_buffer(
            [CChar](body.map { CChar(bitPattern: $0) }), body.count) == SNAPPY_OK)
    }

    @Test("garbage is reported as a malformed body, not a crash")
    func malformed() {
        #expect(throws: RemoteWriteError.self) { try WriteRequestEncoder.decode(Data("not snappy".utf8)) }
        #expect(throws: RemoteWriteError.self) { try WriteRequestEncoder.decode(Data()) }
        // Valid snappy around bytes that are not a WriteRequest.
        #expect(throws: RemoteWriteError.self) {
            try WriteRequestEncoder.decode(try Snappy.compress(Data([0x0a, 0xff, 0xff, 0xff])))
        }
        // A block that claims a huge length is refused before allocating.
        #expect(throws: RemoteWriteError.self) {
            try WriteRequestEncoder.decode(Data([0xff, 0xff, 0xff, 0xff, 0x0f]), maxUncompressedBytes: 1 << 20)
        }
    }

    @Test("an empty request encodes and decodes")
    func empty() throws {
        #expect(try WriteRequestEncoder.decode(try WriteRequestEncoder.encode([])).isEmpty)
    }

    @Test("2000 samples make a small request")
    func size() throws {
        // 500 targets × 4 samples (one 3 s cadence over 12 s) of probe_rtt_seconds.
        var series: [Series] = []
        for i in 0..<500 {
            let target = "198.18.\(i / 256).\(i % 256)"
            var samples: [Series.Sample] = []
            for k in 0..<4 {
                let ts: Int64 = Self.t0 + Int64(k) * 3000
                let rtt: Double = 0.0001 + Double(i * 4 + k) * 1e-7
                samples.append((timestampMs: ts, value: rtt))
            }
            series.append(try Series(
                name: "probe_rtt_seconds",
                labels: [("monitor", "edge"), ("target", target), ("protocol", "icmp")],
                samples: samples))
        }
        #expect(series.reduce(0) { $0 + $1.samples.count } == 2000)
        let raw = try WriteRequestEncoder.protobuf(series)
        let body = try WriteRequestEncoder.encode(series)
        print("2000 samples / 500 series: protobuf \(raw.count) bytes, snappy \(body.count) bytes")
        // Each sample costs 22 bytes uncompressed (value 9 + timestamp 11 + framing); each series
        // ~90 bytes of labels. Snappy must shrink the repeated label text substantially.
        #expect(raw.count < 2000 * 24 + 500 * 100)
        #expect(body.count < raw.count * 3 / 4)
        #expect(body.count < 64 * 1024)
        #expect(try WriteRequestEncoder.decode(body) == series)
    }

    @Test("the headers remote write 1.0 asks for")
    func headers() {
        let h = Dictionary(uniqueKeysWithValues: RemoteWriteHeaders.all(agentVersion: "1.2.3").map { ($0.name, $0.value) })
        #expect(h["Content-Encoding"] == "snappy")
        #expect(h["Content-Type"] == "application/x-protobuf")
        #expect(h["X-Prometheus-Remote-Write-Version"] == "0.1.0")
        #expect(h["User-Agent"] == "probe-agent/1.2.3")
    }
}

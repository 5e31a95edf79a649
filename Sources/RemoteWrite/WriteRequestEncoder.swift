import Foundation
import SwiftProtobuf

/// Turns series into a remote-write 1.0 request body and back.
///
/// The body is the protobuf `WriteRequest` (see `Proto/remote_write.proto`) compressed as one
/// snappy block. The shipper POSTs ``body(protobuf:)`` of what its RequestBuilder wrote with
/// ``RequestWriter``; ``encode(_:)`` does the same from ``Series`` values (tools, tests), and
/// ``decode(_:)`` is for tests and for inspecting dead-lettered requests.
public enum WriteRequestEncoder {
    /// Encodes `series` as a snappy-compressed protobuf WriteRequest.
    ///
    /// The series are already validated and sorted (``Series`` guarantees it), so encoding only
    /// fails if libsnappy does.
    /// - Returns: the HTTP request body.
    public static func encode(_ series: [Series]) throws -> Data {
        try Snappy.compress(try protobuf(series))
    }

    /// The request body for protobuf bytes written by ``RequestWriter``.
    public static func body(protobuf: [UInt8]) throws -> Data {
        try Snappy.compress(Data(protobuf))
    }

    /// The uncompressed protobuf bytes of the WriteRequest for `series` (see ``WireWriter``).
    public static func protobuf(_ series: [Series]) throws -> Data {
        Data(WireWriter.encode(series))
    }

    /// The same bytes through SwiftProtobuf's generated code: the reference ``protobuf(_:)`` is
    /// tested against (much slower on the shipper's hot path, see ``WireWriter``).
    public static func referenceProtobuf(_ series: [Series]) throws -> Data {
        var request = RWWriteRequest()
        request.timeseries.reserveCapacity(series.count)
        for s in series {
            var ts = RWTimeSeries()
            ts.labels = s.labels.map { name, value in
                var l = RWLabel()
                l.name = name
                l.value = value
                return l
            }
            ts.samples = s.samples.map { sample in
                var p = RWSample()
                p.timestamp = sample.timestampMs
                p.value = sample.value
                return p
            }
            request.timeseries.append(ts)
        }
        return try request.serializedData()
    }

    /// Decodes a request body made by ``encode(_:)`` (or any remote-write 1.0 sender).
    ///
    /// - Parameter maxUncompressedBytes: refuse bodies that would uncompress to more.
    /// - Throws: ``RemoteWriteError/malformedBody(_:)`` when the body is not snappy or not a
    ///   WriteRequest; the label and sample errors of ``Series/init(labels:samples:)`` when a
    ///   series breaks the rules.
    public static func decode(_ body: Data, maxUncompressedBytes: Int = 64 << 20) throws -> [Series] {
        let raw = try Snappy.uncompress(body, maxLength: maxUncompressedBytes)
        let request: RWWriteRequest
        do {
            request = try RWWriteRequest(serializedBytes: raw)
        } catch {
            throw RemoteWriteError.malformedBody("not a WriteRequest: \(error)")
        }
        return try request.timeseries.map { ts in
            try Series(
                labels: ts.labels.map { ($0.name, $0.value) },
                samples: ts.samples.map { (timestampMs: $0.timestamp, value: $0.value) })
        }
    }
}

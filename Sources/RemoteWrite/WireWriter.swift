/// Writes a remote-write `WriteRequest` straight into bytes: the protobuf wire format of
/// `Proto/remote_write.proto`, byte for byte what SwiftProtobuf emits for the same message.
///
/// Why by hand: profiling the agent at 10k targets with remote write on
/// (`perf record` on scripts/bench-scale.sh's set-up) put SwiftProtobuf's generic visitor —
/// a size pass and a write pass over a message tree built first — at 65% of the shipper's
/// CPU and a third of the whole process. The message is four fixed shapes, so sizes are
/// computed arithmetically and every byte is written once. SwiftProtobuf stays the decoder
/// (`WriteRequestEncoder.decode`) and the reference the tests compare against.
struct WireWriter: Sendable {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Appends bytes that are already wire format (a ``LabelLayout``'s encoded labels).
    mutating func raw(_ encoded: [UInt8]) { bytes.append(contentsOf: encoded) }

    // Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
    private static let timeseriesTag: UInt8 = 0x0A // WriteRequest.timeseries = 1, LEN
    private static let labelTag: UInt8 = 0x0A      // TimeSeries.labels = 1, LEN
    private static let sampleTag: UInt8 = 0x12     // TimeSeries.samples = 2, LEN
    private static let nameTag: UInt8 = 0x0A       // Label.name = 1, LEN
    private static let valueTag: UInt8 = 0x12      // Label.value = 2, LEN
    private static let doubleTag: UInt8 = 0x09     // Sample.value = 1, I64
    private static let timestampTag: UInt8 = 0x10  // Sample.timestamp = 2, VARINT

    static func encode(_ series: [Series]) -> [UInt8] {
        var w = WireWriter(reservingCapacity: series.count * 160)
        for s in series { w.timeSeries(s) }
        return w.bytes
    }

    private mutating func timeSeries(_ s: Series) {
        var size = 0
        for (name, value) in s.labels { size += Self.labelEntrySize(name, value) }
        for sample in s.samples { size += Self.sampleEntrySize(sample) }
        beginTimeSeries(size: size)
        for (name, value) in s.labels { label(name, value) }
        for sample in s.samples { self.sample(sample) }
    }

    /// The tag and length of a `TimeSeries` whose fields take `size` bytes.
    mutating func beginTimeSeries(size: Int) {
        bytes.append(Self.timeseriesTag)
        varint(UInt64(size))
    }

    /// One `TimeSeries.labels` entry (its tag, length and `Label` message).
    mutating func label(_ name: String, _ value: String) {
        bytes.append(Self.labelTag)
        varint(UInt64(Self.labelSize(name.utf8.count, value.utf8.count)))
        string(Self.nameTag, name)
        string(Self.valueTag, value)
    }

    /// One `TimeSeries.samples` entry (its tag, length and `Sample` message).
    mutating func sample(_ sample: Series.Sample) {
        bytes.append(Self.sampleTag)
        varint(UInt64(Self.sampleSize(sample)))
        // proto3: fields holding their default value are not written.
        if sample.value.bitPattern != 0 {
            bytes.append(Self.doubleTag)
            withUnsafeBytes(of: sample.value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        if sample.timestampMs != 0 {
            bytes.append(Self.timestampTag)
            varint(UInt64(bitPattern: sample.timestampMs))
        }
    }

    static func labelEntrySize(_ name: String, _ value: String) -> Int {
        let l = labelSize(name.utf8.count, value.utf8.count)
        return 1 + varintSize(UInt64(l)) + l
    }

    static func sampleEntrySize(_ sample: Series.Sample) -> Int {
        let l = sampleSize(sample)
        return 1 + varintSize(UInt64(l)) + l
    }

    private mutating func string(_ tag: UInt8, _ s: String) {
        let n = s.utf8.count
        guard n > 0 else { return }
        bytes.append(tag)
        varint(UInt64(n))
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private static func labelSize(_ name: Int, _ value: Int) -> Int {
        (name > 0 ? 1 + varintSize(UInt64(name)) + name : 0) + (value > 0 ? 1 + varintSize(UInt64(value)) + value : 0)
    }

    private static func sampleSize(_ s: Series.Sample) -> Int {
        (s.value.bitPattern != 0 ? 9 : 0) + (s.timestampMs != 0 ? 1 + varintSize(UInt64(bitPattern: s.timestampMs)) : 0)
    }

    static func varintSize(_ v: UInt64) -> Int {
        v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7
    }
}

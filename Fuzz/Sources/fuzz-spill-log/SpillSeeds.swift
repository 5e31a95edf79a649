@testable import SpillLog
import FuzzSamples
import FuzzSupport

/// Seed spill directories in SpillInput's layout: what the agent leaves behind (blocks of
/// results in one or more segments, a saved read position) and what crashes and damaged disks
/// leave (torn tails, garbage and flipped bits between records, odd read positions, empty
/// segments, ids near the top of the range), with and without appends, caps and the age cap.
enum SpillSeeds {
    /// 2023-11-14T22:13:20Z in ns: the records' time, and `now` an hour and a half later.
    static let t0: Int64 = 1_700_000_000_000_000_000
    static let later = t0 + 5_400_000_000_000

    struct Segment {
        var raw = false
        var body: [UInt8] = []

        /// Framed by the target: (i64 timestamp, u16 length, payload).
        static func records(_ payloads: [[UInt8]], from t: Int64 = t0, tail: [UInt8] = []) -> Segment {
            var w = FuzzInputWriter()
            for (i, p) in payloads.enumerated() {
                w.u64(UInt64(bitPattern: t + Int64(i) * 1_000_000_000))
                w.chunk(p)
            }
            return Segment(body: w.bytes + tail)
        }

        /// Bytes as they are on disk, records framed here with valid CRCs where given.
        static func raw(_ parts: [[UInt8]]) -> Segment { Segment(raw: true, body: parts.flatMap { $0 }) }
    }

    static func framed(_ payload: [UInt8], at t: Int64 = t0) -> [UInt8] {
        var out: [UInt8] = []
        payload.withUnsafeBytes { RecordFormat.encode(payload: $0, timestamp: t, into: &out) }
        return out
    }

    enum ReadPos { case none, at(segment: UInt8, offset: UInt32), raw([UInt8]) }

    static func input(_ segments: [Segment], readPos: ReadPos = .none, gaps: UInt8 = 0, highIDs: Bool = false,
                      smallCaps: Bool = false, ageCap: Bool = false, now: Int64 = later,
                      appends: [(Int64, [UInt8])] = []) -> [UInt8] {
        var flags = UInt8(segments.count - 1)
        if case .none = readPos {} else { flags |= 4 }
        if case .raw = readPos { flags |= 8 }
        if highIDs { flags |= 0x10 }
        if !appends.isEmpty { flags |= 0x20 }
        if smallCaps { flags |= 0x40 }
        if ageCap { flags |= 0x80 }
        var w = FuzzInputWriter()
        w.u8(flags)
        w.u8(gaps)
        switch readPos {
        case .none: break
        case .at(let segment, let offset): w.u8(segment); w.u32(offset)
        case .raw(let bytes): w.raw(bytes.prefix(28) + Array(repeating: 0, count: max(0, 28 - bytes.count)))
        }
        w.u64(UInt64(bitPattern: now))
        for s in segments {
            w.u8(s.raw ? 1 : 0)
            w.chunk(s.body)
        }
        if !appends.isEmpty {
            w.u8(UInt8(appends.count))
            for (t, p) in appends {
                w.u64(UInt64(bitPattern: t))
                w.chunk(p)
            }
        }
        return w.bytes
    }

    static func all() throws -> [(name: String, bytes: [UInt8])] {
        let p = try SampleResults.payloads()
        let firstRecord = UInt32(RecordFormat.size(payload: p[0].count))
        let bogusHeader: [UInt8] = [0xA7, 0x53, 0x50, 0x31, 0x10, 0, 0, 0, 1, 2, 3, 4]
        var flipped = framed(p[1])
        flipped[flipped.count / 2] ^= 0x40
        let appends = (0..<5).map { (t0 + Int64($0), p[$0 % p.count]) }
        return [
            ("one-segment", input([.records(p)])),
            ("two-segments-read-pos", input([.records(p), .records(p.reversed())], readPos: .at(segment: 0, offset: firstRecord))),
            ("read-pos-mid-record", input([.records(p)], readPos: .at(segment: 0, offset: 5))),
            ("read-pos-past-end", input([.records(p), .records([p[3]])], readPos: .at(segment: 1, offset: 1 << 20))),
            ("read-pos-before-first", input([.records(p), .records(p)], readPos: .at(segment: 0x80 | 2, offset: 0))),
            ("read-pos-after-last", input([.records(p)], readPos: .at(segment: 0x80 | 6, offset: 0))),
            ("read-pos-garbage", input([.records(p)], readPos: .raw(Array("SPRP\u{1}garbage-not-a-position".utf8)))),
            ("torn-tail", input([.records(p), .records([p[3]], tail: [1, 2, 3, 4, 5, 6, 7, 8, 200, 0, 9, 9])])),
            ("torn-record", input([.raw([framed(p[0]), Array(framed(p[1]).prefix(30))])])),
            ("garbage-between-records", input([.raw([framed(p[0]), Array("not a record".utf8), bogusHeader, framed(p[3])]),
                                               .records([p[1]])])),
            ("flipped-bit", input([.raw([framed(p[0]), flipped, framed(p[2])])])),
            ("garbage-only", input([.raw([bogusHeader, Array(repeating: 0xA7, count: 40)])])),
            ("empty-segments", input([.raw([]), .records([]), .records([p[0]])], gaps: 0b01_10)),
            ("four-segments", input([.records([p[0]]), .records([p[1]]), .records([p[2]]), .records([p[3]])], gaps: 0xE4)),
            ("high-ids", input([.records([p[0]]), .records([p[1]]), .records([p[3]])], highIDs: true)),
            ("undecodable-payloads", input([.records([[], [0xB1], [0xB1, 9, 0, 0, 0, 0], Array(repeating: 7, count: 33)])])),
            ("age-cap", input([.records([p[0]], from: t0), .records([p[1]], from: later)], ageCap: true)),
            ("appends", input([.records(p)], appends: appends)),
            ("appends-small-caps", input([.records([p[0]])], smallCaps: true, appends: appends)),
            ("appends-after-garbage", input([.raw([framed(p[0]), Array("torn".utf8)])], readPos: .at(segment: 0, offset: 0),
                                            appends: appends)),
        ]
    }
}

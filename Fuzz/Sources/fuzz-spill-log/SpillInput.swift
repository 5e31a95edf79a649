@testable import SpillLog
import Foundation
import FuzzSupport

/// One fuzz input: the files of a spill directory and what to do after opening it.
///
///   u8 flags   bits 0–1: segment files − 1 (1–4); bit 2: read.pos present; bit 3: read.pos is
///              28 raw bytes (else a valid one naming a segment and offset); bit 4: ids start
///              near the highest allowed id; bit 5: append after reading; bit 6: small caps
///              (256-byte segments, 2 KiB in all); bit 7: an age cap of one hour
///   u8 gaps    2 bits per segment: its id is the previous one + 1…4
///   read.pos   valid: u8 segment (bits 0–1 pick one of ours; bit 7: an id beside ours, low 3
///              bits − 4), u32 offset; raw: 28 bytes
///   u64 now    wall clock, ns (the age cap, the oldest pending age)
///   segments   per file: u8 kind (bit 0: raw bytes, else records) + chunk (u16 length + bytes);
///              records are (i64 timestamp, u16 length, payload)* framed with valid CRCs, and
///              bytes that do not make a whole entry are appended as they are (a torn tail)
///   appends    u8 count (0–7), then (i64 timestamp, chunk payload)*
struct SpillInput {
    var segments: [(id: UInt64, bytes: [UInt8])] = []
    var readPosition: [UInt8]?
    var nowNanos: Int64 = 0
    var maxAge: Duration?
    var smallCaps = false
    var appends: [SpillEntry] = []

    init(_ bytes: UnsafeRawBufferPointer) {
        var r = FuzzInput(bytes)
        let flags = r.u8()
        let count = Int(flags & 3) + 1
        smallCaps = flags & 0x40 != 0
        maxAge = flags & 0x80 != 0 ? .seconds(3600) : nil
        let gaps = r.u8()
        var id: UInt64 = flags & 0x10 != 0 ? Segment.maxID - 3 : 0
        var ids: [UInt64] = []
        for i in 0..<count {
            id &+= 1 + UInt64((gaps >> (2 * UInt8(i))) & 3)
            ids.append(id)
        }
        if flags & 4 != 0 {
            if flags & 8 != 0 {
                readPosition = r.take(28)
            } else {
                let sel = r.u8()
                let segment = sel & 0x80 != 0 ? ids[0] &+ UInt64(sel & 7) &- 4 : ids[Int(sel & 3) % count]
                readPosition = ReadPositionFile.encode(segment: segment, offset: Int(r.u32()))
            }
        }
        nowNanos = Int64(bitPattern: r.u64())
        for id in ids {
            let raw = r.u8() & 1 != 0
            let body = r.chunk()
            segments.append((id, raw ? body : Self.frame(body)))
        }
        if flags & 0x20 != 0 {
            for _ in 0..<(r.u8() & 7) {
                let timestamp = Int64(bitPattern: r.u64())
                appends.append(SpillEntry(payload: Data(r.chunk()), timestampNanos: timestamp))
            }
        }
    }

    var options: SpillOptions {
        SpillOptions(segmentBytes: smallCaps ? 256 : 8 << 20, maxBytes: smallCaps ? 2048 : 1 << 30, maxAge: maxAge,
                     fsync: .never)
    }

    /// (i64 timestamp, u16 length, payload)* as framed records; leftovers appended raw.
    static func frame(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var at = 0
        while body.count - at >= 10 {
            let timestamp = body[at..<at + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let length = Int(body[at + 8]) | Int(body[at + 9]) << 8
            guard body.count - at - 10 >= length else { break }
            body[(at + 10)..<(at + 10 + length)].withUnsafeBytes {
                RecordFormat.encode(payload: $0, timestamp: Int64(bitPattern: timestamp), into: &out)
            }
            at += 10 + length
        }
        return out + body[at...]
    }

    func writeFiles(into directory: String) {
        for (id, bytes) in segments {
            Scratch.write(bytes, to: directory + "/" + Segment.fileName(id))
        }
        if let readPosition { Scratch.write(readPosition, to: directory + "/" + ReadPositionFile.name) }
    }
}

/// A spill directory per input, emptied before each one: in /dev/shm when there is one
/// (no disk I/O for a million inputs), removed at exit.
final class Scratch: @unchecked Sendable {
    let root: String

    init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array((base + "/probeagent-fuzz-spill.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
        guard let made else { fatalError("mkdtemp in \(base): errno \(errno)") }
        root = made
        Self.cleanup = root
        atexit { if let root = Scratch.cleanup { try? FileManager.default.removeItem(atPath: root) } }
    }

    nonisolated(unsafe) static var cleanup: String?

    /// The (empty) spill directory for the next input.
    func fresh() -> String {
        let directory = root + "/spill"
        try? FileManager.default.removeItem(atPath: directory)
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        return directory
    }

    static func write(_ bytes: [UInt8], to path: String) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
    }
}

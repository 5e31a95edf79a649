import TestSupport
import Foundation
import Testing
@testable import SpillLog
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under the system temp dir, removed by `remove()` (call it in a defer).
struct TempDir {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "/spilltest.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        // Read the name inside the closure: a pointer taken out of withUnsafeBufferPointer dangles
        // (it crashed once as "initialize overlapping range" when the temporary was freed first).
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
    var log: String { path + "/spill" }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The payload of test record `i`: its number, padded to `size` bytes.
func payload(_ i: Int, size: Int = 40) -> Data {
    var bytes = Array("record-\(i)-".utf8)
    while bytes.count < size { bytes.append(UInt8(truncatingIfNeeded: i &* 31 &+ bytes.count)) }
    return Data(bytes.prefix(max(size, bytes.count)))
}

func entry(_ i: Int, size: Int = 40, time: Int64? = nil) -> SpillEntry {
    SpillEntry(payload: payload(i, size: size), timestampNanos: time ?? Int64(i) * 1_000_000)
}

/// The record number of a payload made by `payload(_:size:)`.
func number(_ data: Data) -> Int {
    let parts = data.prefix(24).split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
    return Int(String(decoding: parts[1], as: UTF8.self))!
}

/// Reads everything pending (and commits it when asked); returns the record numbers.
func drain(_ log: SpillLog, commit: Bool = true, batch: Int = 7) throws -> [Int] {
    var out: [Int] = []
    while true {
        let records = try log.read(max: batch)
        if records.isEmpty { return out }
        out += records.map { number($0.payload) }
        if commit { try log.commit(through: records.last!.position) }
    }
}

/// Segment file names in `dir`, sorted.
func segmentFiles(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("seg-") }.sorted()
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? -1
}

/// Sum of segment file sizes on disk.
func bytesOnDisk(_ dir: String) -> Int {
    segmentFiles(dir).reduce(0) { $0 + fileSize(dir + "/" + $1) }
}

func truncateFile(_ path: String, to size: Int) {
    precondition(truncate(path, off_t(size)) == 0, "truncate \(path)")
}

/// XORs one byte of a file.
func flipByte(_ path: String, at offset: Int, mask: UInt8 = 0x40) {
    let handle = FileHandle(forUpdatingAtPath: path)!
    defer { try? handle.close() }
    try! handle.seek(toOffset: UInt64(offset))
    let byte = try! handle.read(upToCount: 1)![0]
    try! handle.seek(toOffset: UInt64(offset))
    try! handle.write(contentsOf: Data([byte ^ mask]))
}


let recordHeader = RecordFormat.headerSize

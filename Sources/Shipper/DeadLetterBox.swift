import Foundation
import Logging
import ProbeAgentCore

/// Requests the store refused as malformed (a 4xx other than 429), kept for a human: never
/// retried, never silently dropped. Each goes in two files under `<spill dir>/dead-letter/`:
/// `req-<ms>-<n>.bin` (the exact snappy body we sent, or — when the batch could not even be
/// encoded — its records, each as a u32 LE length + the spill encoding) and `.txt` (why, when,
/// how many results, which monitors).
///
/// The directory is capped (`spill.dead_letter_max_bytes`): past the cap the oldest request
/// (its .bin and .txt) goes first, and every dropped request and its results are counted. At
/// start the box measures the requests already there (their result counts from the .txt). Files
/// that are not `req-<ms>-<n>.bin|.txt` are left alone and not counted.
///
/// Threading: the shipper thread's; the gauges are read by whoever publishes them.
final class DeadLetterBox {
    private let directory: String
    private let maxBytes: Int64
    private let log: Logger
    private var sequence = 0
    /// Requests kept, oldest first.
    private var kept: [Entry] = []

    /// Requests dropped to stay under the cap, since start.
    private(set) var droppedRequests: UInt64 = 0
    /// Results in the dropped requests, since start.
    private(set) var droppedResults: UInt64 = 0
    /// Bytes of the kept requests (.bin + .txt).
    private(set) var bytes: Int64 = 0
    /// Files of the kept requests.
    var files: Int { kept.reduce(0) { $0 + $1.files } }

    private struct Entry {
        var stem: String
        var order: (Int64, Int)
        var bytes: Int64
        var files: Int
        var results: Int
    }

    init(directory: String, maxBytes: Int64 = 64 << 20, log: Logger = Logger(label: "probe-agent.dead-letter")) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.log = log
        measure()
        if bytes > maxBytes { trim() }
    }

    func put(body: Data?, why: String, records: [ResultRecord], log: Logger) {
        sequence += 1
        let ms = Int64(Date().timeIntervalSince1970 * 1000)
        let stem = "\(directory)/req-\(ms)-\(sequence)"
        let payload = body ?? records.reduce(into: Data()) { out, r in
            let bytes = r.encoded()
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: bytes)
        }
        let monitors = Set(records.map(\.monitorID)).sorted().joined(separator: ", ")
        let note = """
            reason: \(why)
            time: \(ISO8601DateFormatter().string(from: Date()))
            results: \(records.count)
            monitors: \(monitors)
            body: \(body == nil ? "result records (u32 LE length + record), not encodable as remote write" : "snappy-compressed remote-write request as sent")

            """
        let noteBytes = Data(note.utf8)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try payload.write(to: URL(fileURLWithPath: stem + ".bin"))
            try noteBytes.write(to: URL(fileURLWithPath: stem + ".txt"))
            log.error("remote write: request refused (\(why)); \(records.count) results set aside in \(stem).bin")
        } catch {
            log.error("remote write: request refused (\(why)) and the dead-letter file \(stem).bin could not be written: \(error); \(records.count) results given up")
            try? FileManager.default.removeItem(atPath: stem + ".bin")
            return
        }
        let size = Int64(payload.count + noteBytes.count)
        kept.append(Entry(stem: stem, order: (ms, sequence), bytes: size, files: 2, results: records.count))
        bytes += size
        if bytes > maxBytes { trim() }
    }

    /// Drops the oldest requests until the kept ones fit under the cap. A request larger than
    /// the cap on its own is dropped too (it cannot be kept under it).
    private func trim() {
        var dropped = 0, results = 0
        while bytes > maxBytes, let oldest = kept.first {
            for ext in [".bin", ".txt"] { try? FileManager.default.removeItem(atPath: oldest.stem + ext) }
            kept.removeFirst()
            bytes -= oldest.bytes
            dropped += 1
            results += oldest.results
        }
        guard dropped > 0 else { return }
        droppedRequests += UInt64(dropped)
        droppedResults += UInt64(results)
        log.warning("dead-letter directory \(directory) over spill.dead_letter_max_bytes (\(maxBytes) bytes): dropped the oldest \(dropped) requests (\(results) results); \(droppedRequests) requests and \(droppedResults) results dropped since start")
    }

    /// What is in the directory already: our request files, oldest first.
    private func measure() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        var byStem: [String: Entry] = [:]
        for name in names {
            guard let (stem, order) = Self.parse(name) else { continue }
            let path = "\(directory)/\(name)"
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            var e = byStem["\(directory)/\(stem)"] ?? Entry(stem: "\(directory)/\(stem)", order: order, bytes: 0, files: 0, results: 0)
            e.bytes += Int64(st.st_size)
            e.files += 1
            if name.hasSuffix(".txt") { e.results = Self.results(inNote: path) }
            byStem[e.stem] = e
        }
        kept = byStem.values.sorted { $0.order < $1.order }
        bytes = kept.reduce(0) { $0 + $1.bytes }
    }

    /// `req-<ms>-<n>.bin|.txt` → (`req-<ms>-<n>`, (ms, n)); nil for anything else.
    static func parse(_ name: String) -> (String, (Int64, Int))? {
        guard name.hasPrefix("req-"), name.hasSuffix(".bin") || name.hasSuffix(".txt") else { return nil }
        let stem = String(name.dropLast(4))
        let parts = stem.dropFirst(4).split(separator: "-")
        guard parts.count == 2, let ms = Int64(parts[0]), let n = Int(parts[1]) else { return nil }
        return (stem, (ms, n))
    }

    /// The `results: N` line of a note (0 when unreadable; notes are small).
    private static func results(inNote path: String) -> Int {
        guard let h = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? h.close() }
        let head = String(decoding: (try? h.read(upToCount: 4096)) ?? Data(), as: UTF8.self)
        for line in head.split(separator: "\n") where line.hasPrefix("results: ") {
            return Int(line.dropFirst("results: ".count)) ?? 0
        }
        return 0
    }
}

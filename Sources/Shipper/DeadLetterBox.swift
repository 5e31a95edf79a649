import Foundation
import Logging
import ProbeAgentCore

/// Requests the store refused as malformed (a 4xx other than 429), kept for a human: never
/// retried, never silently dropped. Each goes in two files under `<spill dir>/dead-letter/`:
/// `req-<ms>-<n>.bin` (the exact snappy body we sent, or — when the batch could not even be
/// encoded — its records, each as a u32 LE length + the spill encoding) and `.txt` (why, when,
/// how many results, which monitors).
final class DeadLetterBox {
    private let directory: String
    private var sequence = 0

    init(directory: String) { self.directory = directory }

    func put(body: Data?, why: String, records: [ResultRecord], log: Logger) {
        sequence += 1
        let stem = "\(directory)/req-\(Int64(Date().timeIntervalSince1970 * 1000))-\(sequence)"
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
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try payload.write(to: URL(fileURLWithPath: stem + ".bin"))
            try Data(note.utf8).write(to: URL(fileURLWithPath: stem + ".txt"))
            log.error("remote write: request refused (\(why)); \(records.count) results set aside in \(stem).bin")
        } catch {
            log.error("remote write: request refused (\(why)) and the dead-letter file \(stem).bin could not be written: \(error); \(records.count) results given up")
        }
    }
}

// spill-bench: spill log write and drain rates on the disk the log lives on.
//
// Appends N records of 120 bytes in batches (fsync policy: interval 1 s, driven by
// maintain(now:) after each batch, as the pipeline would), then reads them all back in batches
// and commits after each batch (one position save, two fsyncs, per commit). With R readers
// (one per remote_write endpoint), each reads and commits every record, batch by batch in
// turn, as the shipper drives them. Prints records/s and MB/s for both phases.
// Usage: spill-bench DIR [records] [batch] [readers]

import Foundation
import ProbeAgentCore
import SpillLog

func now() -> Double {
    Double(MonotonicClock.nanoseconds()) / 1e9
}

func wallNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: spill-bench DIR [records] [batch] [readers]\n".utf8))
    exit(2)
}
let directory = args[1]
let total = args.count > 2 ? Int(args[2])! : 1_000_000
let batchSize = args.count > 3 ? Int(args[3])! : 500
let readerCount = args.count > 4 ? Int(args[4])! : 1
// One reader: the nameless one (`read.pos`), as a log of one store was before names.
let readers = readerCount == 1 ? [""] : (1...readerCount).map { "r\($0)" }
let payloadSize = 120

do {
    let options = SpillOptions(maxBytes: 1 << 40, fsync: .interval(.seconds(1)))
    let log = try SpillLog(directory: directory, options: options, readers: readers)
    var payload = Data(count: payloadSize)
    var batch: [SpillEntry] = []
    batch.reserveCapacity(batchSize)

    let writeStart = now()
    var appended = 0
    while appended < total {
        batch.removeAll(keepingCapacity: true)
        let n = min(batchSize, total - appended)
        for i in 0..<n {
            payload.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(appended + i), as: UInt64.self) }
            batch.append(SpillEntry(payload: payload, timestampNanos: wallNanos()))
        }
        try log.append(batch)
        try log.maintain(nowNanos: wallNanos())
        appended += n
    }
    try log.flush()
    let writeSeconds = now() - writeStart
    let bytes = log.stats.bytesOnDisk

    let drainStart = now()
    var drained = Array(repeating: 0, count: readers.count)
    var commits = 0
    var reading = true
    while reading {
        reading = false
        for r in readers.indices {
            let records = try log.read(max: batchSize, reader: r)
            guard let last = records.last else { continue }
            reading = true
            drained[r] += records.count
            try log.commit(through: last.position, reader: r)
            commits += 1
        }
    }
    let drainSeconds = now() - drainStart
    try log.close()
    guard drained.allSatisfy({ $0 == total }) else {
        FileHandle.standardError.write(Data("spill-bench: drained \(drained) of \(total)\n".utf8))
        exit(1)
    }
    func line(_ name: String, _ seconds: Double) -> String {
        String(format: "%@: %d records of %d B in %.3f s = %.0f records/s, %.1f MB/s (%.1f MB on disk incl. 20 B headers)",
               name, total, payloadSize, seconds, Double(total) / seconds,
               Double(total * payloadSize) / seconds / 1e6, Double(bytes) / 1e6)
    }
    print(line("write", writeSeconds) + ", batches of \(batchSize), fsync interval 1 s")
    print(line("drain", drainSeconds) + ", read+commit batches of \(batchSize), \(commits) commits, "
          + "\(readers.count) reader\(readers.count == 1 ? "" : "s") each reading every record")
} catch {
    FileHandle.standardError.write(Data("spill-bench: \(error)\n".utf8))
    exit(1)
}

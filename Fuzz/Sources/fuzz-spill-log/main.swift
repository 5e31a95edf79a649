// fuzz-spill-log: a spill directory whose files come from the fuzzer → SpillLog recovery at
// open, reading the whole backlog (each payload through ResultBlock.decode, as the shipper
// does), commit, the age cap, appends, close and a second recovery. Input layout in
// SpillInput.swift.
//
// Contract: whatever the segment files and read.pos hold, the log opens (garbage is skipped
// and counted, a torn tail cut), hands out exactly the results it counts as pending, commits
// to zero pending, and after appends and a reopen reads back what was appended: never a trap.

@testable import SpillLog
import Foundation
import FuzzSupport
import ResultBlocks

let scratch = Scratch()

Fuzzer.main(seeds: SpillSeeds.all) { bytes in
    let input = SpillInput(bytes)
    let directory = scratch.fresh()
    input.writeFiles(into: directory)
    let options = input.options

    let log: SpillLog
    do {
        log = try SpillLog(directory: directory, options: options, weigh: ResultBlock.weight)
    } catch {
        return Fuzzer.check(false, "a spill directory of files the log wrote itself or garbage does not open: \(error)")
    }
    let opened = log.stats
    _ = opened.oldestPendingAge(nowNanos: input.nowNanos)
    if input.maxAge != nil {
        do { try log.maintain(nowNanos: input.nowNanos) } catch { Fuzzer.check(false, "maintain failed: \(error)") }
    }

    let pending = log.stats.pendingRecords
    let (records, weight) = readAll(log)
    Fuzzer.check(weight == pending, "read \(weight) results, the log counted \(pending) pending")
    if let last = records.last {
        do { try log.commit(through: last.position) } catch { Fuzzer.check(false, "commit failed: \(error)") }
        Fuzzer.check(log.stats.pendingRecords == 0, "\(log.stats.pendingRecords) pending after committing everything")
    }
    guard !input.appends.isEmpty else {
        return Fuzzer.check((try? log.close()) != nil, "close failed")
    }

    let droppedBefore: Int
    do {
        try log.append(input.appends)
        droppedBefore = log.stats.droppedRecords
        try log.close()
    } catch SpillError.segmentIDsExhausted {
        // A segment named with the highest id: the log refuses to number one it could not read.
        return Fuzzer.check((try? log.close()) != nil, "close failed")
    } catch {
        return Fuzzer.check(false, "append or close failed: \(error)")
    }
    let appended = input.appends.map(\.payload)
    do {
        let again = try SpillLog(directory: directory, options: options, weigh: ResultBlock.weight)
        defer { try? again.close() }
        let dropped = droppedBefore + again.stats.droppedRecords
        let back = readAll(again).records.map(\.payload)
        // The byte cap may have dropped the oldest appends, never others, never reordered.
        Fuzzer.check(back.count <= appended.count && Array(appended.suffix(back.count)) == back,
                     "reopened log reads \(back.count) records that are not the last of the \(appended.count) appended")
        Fuzzer.check(dropped > 0 || back.count == appended.count,
                     "\(appended.count) appended, \(back.count) read back after reopen, none dropped")
        Fuzzer.check(again.stats.tornTailBytes == 0, "the log's own appends left a torn tail: \(again.stats)")
    } catch {
        Fuzzer.check(false, "the log does not reopen after its own appends: \(error)")
    }
}

/// Every record from the cursor on, each payload decoded as the shipper does; the sum of their
/// weights (results), as the log counts them.
func readAll(_ log: SpillLog) -> (records: [SpillRecord], weight: Int) {
    var out: [SpillRecord] = []
    var weight = 0
    for _ in 0..<100_000 {
        let batch: [SpillRecord]
        do { batch = try log.read(max: 7) } catch { Fuzzer.check(false, "read failed: \(error)"); break }
        if batch.isEmpty { break }
        for record in batch {
            weight += record.payload.withUnsafeBytes { max(1, ResultBlock.weight($0)) }
            _ = try? ResultBlock.decode(record.payload)
        }
        out += batch
    }
    return (out, weight)
}

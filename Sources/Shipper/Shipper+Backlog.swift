import Foundation
import ProbeAgentCore
import SpillLog

/// The backlog on disk: read back oldest first at `backfill_rate` on top of the live results
/// queued behind it, a chunk at a time, each chunk as concurrent requests, one lane per series.
extension Shipper {
    /// Results the backlog may release now: the backfill tokens plus the live results queued
    /// behind it.
    var diskBudget: Double { backfillTokens + liveCredit }

    /// A bounded read from the backlog (see ``diskBudget``), up to `requests_in_flight` requests'
    /// worth, sent as that many requests at once — each series in exactly one of them, so its
    /// samples stay in order — and committed only once all are done with. After a failure the
    /// same records are read again and only the requests the store has not accepted are resent.
    /// - Returns: true when records were read and are done with.
    @discardableResult
    func sendFromDisk() -> Bool {
        let lanes = options.requestsInFlight
        // Not a record beyond the budget: reading "at least one" each round let the backlog
        // out at the shipper's round rate (~50/s), whatever backfill_rate said. While the store
        // fails, one record is the retry probe.
        guard retryChunk != nil || storeFailing || diskBudget >= 1 else { return false }
        let count = retryChunk?.count ?? min(options.resultsPerRequest * lanes, Int(storeFailing ? 1 : diskBudget))
        let records: [SpillRecord]
        do { records = try spill.read(max: count) } catch { note(error, "spill read"); return false }
        guard let first = records.first, let last = records.last else { return false }
        var accepted = Set<Int>()
        if let c = retryChunk, c.first == first.position, c.count == records.count { accepted = c.acceptedLanes }
        retryChunk = nil
        var batches = [[ResultRecord]](repeating: [], count: lanes)
        for r in records {
            guard let decoded = try? ResultRecord(decoding: r.payload) else { counters.undecodableSpillRecords += 1; continue }
            batches[Int(UInt(bitPattern: InFlightRequests.seriesKey(decoded)) % UInt(lanes))].append(decoded)
        }
        let fromLive = min(liveCredit, Double(records.count))
        liveCredit -= fromLive
        backfillTokens -= Double(records.count) - fromLive
        let sending = batches.indices.filter { !batches[$0].isEmpty && !accepted.contains($0) }
        for lane in shipAtOnce(sending.map { batches[$0] }).enumerated().filter(\.element).map({ sending[$0.offset] }) {
            accepted.insert(lane)
        }
        if sending.allSatisfy(accepted.contains) {
            do { try spill.commit(through: last.position) } catch { note(error, "spill commit"); return false }
            if spill.stats.pendingRecords == 0 { liveCredit = 0 }
            return true
        }
        spill.rewind() // read the same records again on the next try
        retryChunk = RetryChunk(first: first.position, count: records.count, acceptedLanes: accepted)
        liveCredit += fromLive
        backfillTokens += Double(records.count) - fromLive
        return false
    }

    /// Sends the batches as concurrent requests and waits for every answer.
    /// - Returns: per batch, true when it is done with (see ``handle(_:_:_:)``).
    func shipAtOnce(_ batches: [[ResultRecord]]) -> [Bool] {
        guard batches.count > 1 else { return batches.map(ship) }
        var done = [Bool](repeating: true, count: batches.count)
        var bodies: [Int: (Data, UInt64)] = [:]
        let got = StoreAnswers()
        for (i, batch) in batches.enumerated() {
            guard let body = encode(batch) else { continue }
            bodies[i] = (body, Self.monoNs())
            store.send(body) { got.put(UInt64(i), $0) }
        }
        var waiting = bodies.count, rounds = 0
        while waiting > 0 && rounds < 1_000_000 { // each answer comes within remote_write.timeout
            rounds += 1
            got.wait(milliseconds: 100)
            for (id, answer) in got.take() {
                waiting -= 1
                let i = Int(id)
                guard let (body, sentAt) = bodies[i] else { continue }
                counters.requestDurations.record(Self.monoNs() - sentAt)
                done[i] = handle(answer, batches[i], body)
            }
        }
        return done
    }

    func refillBackfill(_ now: UInt64) {
        let dt = Double(now - lastRefill) / 1e9
        lastRefill = now
        backfillTokens = min(Double(options.backfillRate), backfillTokens + dt * Double(options.backfillRate))
    }
}

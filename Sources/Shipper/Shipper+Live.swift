import Foundation
import ProbeAgentCore

/// Live results: sent from the memory queue as up to `requests_in_flight` requests at once,
/// a series only ever in one of them (see ``InFlightRequests``).
extension Shipper {
    /// Sends the oldest queued results whose series are not on their way already.
    /// - Returns: false when nothing could be sent.
    func sendFromQueue() -> Bool {
        var keys: [Int] = []
        let batch = queue.pop(max: options.resultsPerRequest) { r in
            let key = InFlightRequests.seriesKey(r)
            guard inFlight.isFree(key) else { return false }
            keys.append(key)
            return true
        }
        queueSince = queue.isEmpty ? nil : Self.monoNs()
        guard !batch.isEmpty else { return false }
        guard let body = encode(batch) else { return true }
        let id = inFlight.add(batch: batch, body: body, series: keys, sentAt: Self.monoNs())
        store.send(body) { [answers, handoff] answer in
            answers.put(id, answer)
            handoff.wake()
        }
        return true
    }

    /// Handles the answers that came in; once every request is answered, failed batches go to
    /// disk in the order they were sent (and, keeping series in order, what queued behind them).
    func collectAnswers() {
        for (id, answer) in answers.take() {
            guard let request = inFlight.finish(id) else { continue }
            counters.requestDurations.record(Self.monoNs() - request.sentAt)
            if !handle(answer, request.batch, request.body) { inFlight.setAside(id, request.batch) }
        }
        if inFlight.isEmpty && inFlight.hasFailures {
            toDisk(inFlight.takeFailures() + (options.freshFirst ? [] : queue.drain()))
        }
    }

    /// Waits until every request in flight is answered (each within `remote_write.timeout`).
    func settle() {
        var rounds = 0
        while !inFlight.isEmpty && rounds < 1_000_000 {
            answers.wait(milliseconds: 100)
            collectAnswers()
            rounds += 1
        }
    }
}

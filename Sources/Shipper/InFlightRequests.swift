import Foundation
import ProbeAgentCore
import SpillLog
import Synchronization

/// The remote-write requests on their way to the store, and the rule that keeps every series
/// in order while several are: a series is in at most one of them. A result whose series is
/// still on its way waits at the head of the memory queue until that request is answered.
///
/// A failed request's batch is set aside until every other request is answered too; then it
/// goes to the spill log first, in the order the batches were sent, ahead of anything newer.
/// Owned by the shipper thread.
struct InFlightRequests {
    struct Request {
        let batch: [ResultRecord]
        let body: Data
        let sentAt: UInt64
        let series: [Int]
    }

    private var requests: [UInt64: Request] = [:]
    private var series = Set<Int>()
    private var nextID: UInt64 = 0
    private var failed: [(id: UInt64, batch: [ResultRecord])] = []

    var count: Int { requests.count }
    var isEmpty: Bool { requests.isEmpty }
    var hasFailures: Bool { !failed.isEmpty }

    /// The identity of a result's series (all of its metrics travel together). A collision
    /// only makes two series wait for each other.
    static func seriesKey(_ r: ResultRecord) -> Int {
        var h = Hasher()
        h.combine(r.monitorID)
        h.combine(r.target)
        return h.finalize()
    }

    func isFree(_ seriesKey: Int) -> Bool { !series.contains(seriesKey) }

    /// Registers a request about to be sent; its id comes back with the answer.
    mutating func add(batch: [ResultRecord], body: Data, series keys: [Int], sentAt: UInt64) -> UInt64 {
        nextID += 1
        requests[nextID] = Request(batch: batch, body: body, sentAt: sentAt, series: keys)
        series.formUnion(keys)
        return nextID
    }

    /// The request answered, its series free again.
    mutating func finish(_ id: UInt64) -> Request? {
        guard let r = requests.removeValue(forKey: id) else { return nil }
        series.subtract(r.series)
        return r
    }

    mutating func setAside(_ id: UInt64, _ batch: [ResultRecord]) { failed.append((id, batch)) }

    /// The failed batches, oldest request first.
    mutating func takeFailures() -> [ResultRecord] {
        defer { failed = [] }
        return failed.sorted { $0.id < $1.id }.flatMap(\.batch)
    }
}

/// Answers of requests in flight, from the HTTP client's threads to the shipper thread.
final class StoreAnswers: Sendable {
    private let list = Mutex<[(UInt64, StoreClient.Answer)]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func put(_ id: UInt64, _ answer: StoreClient.Answer) {
        list.withLock { $0.append((id, answer)) }
        arrived.signal()
    }

    func take() -> [(UInt64, StoreClient.Answer)] {
        list.withLock { l in
            defer { l = [] }
            return l
        }
    }

    /// Waits until an answer arrives or `milliseconds` pass.
    func wait(milliseconds: Int) { _ = arrived.wait(timeout: .now() + .milliseconds(milliseconds)) }
}

/// A chunk of the backlog sent as several requests of which some failed: read again from
/// `first`, the same `count` records, only the lanes not yet accepted are resent (a resent
/// sample older than its series' newest would be refused as out of order).
struct RetryChunk {
    let first: SpillPosition
    let count: Int
    let acceptedLanes: Set<Int>
}

import Dispatch
import ProbeAgentCore
import Synchronization

/// Results from the probing loop to the shipper thread: the loop hands over a batch per
/// iteration, the shipper takes everything at once. The loop never waits on the shipper; the
/// shipper sleeps on a semaphore until a batch or its timeout.
///
/// Batches are kept as they come (a list of arrays), so a hand-over is O(1) under the lock
/// even when the shipper has fallen behind: appending records to one growing array copied it
/// on the loop thread, up to 54 ms a turn at start-up with 100k targets (LoopTurnClock's log).
public final class ResultHandoff: Sendable {
    private let pending = Mutex<[[ResultRecord]]>([])
    private let ready = DispatchSemaphore(value: 0)

    public init() {}

    public func put(_ records: [ResultRecord]) {
        guard !records.isEmpty else { return }
        pending.withLock { $0.append(records) }
        ready.signal()
    }

    /// Ends a wait in ``take(waitingUpTo:)`` early (a request the shipper sent has its answer).
    public func wake() { ready.signal() }

    /// Everything handed over so far, waiting up to `timeout` for something to arrive.
    public func take(waitingUpTo timeout: Duration) -> [ResultRecord] {
        var taken = takeBatches()
        if taken.isEmpty {
            let ms = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            _ = ready.wait(timeout: .now() + .milliseconds(ms))
            taken = takeBatches()
        }
        // Joined here, on the shipper's thread.
        return taken.count == 1 ? taken[0] : Array(taken.joined())
    }

    private func takeBatches() -> [[ResultRecord]] {
        pending.withLock { p in
            let t = p
            p = []
            p.reserveCapacity(64)
            return t
        }
    }
}

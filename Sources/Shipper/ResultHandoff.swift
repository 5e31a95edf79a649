import Dispatch
import ProbeAgentCore
import Synchronization

/// Results from the probing loop to the shipper thread: the loop hands over a batch per
/// iteration, the shipper takes everything at once. The loop never waits on the shipper; the
/// shipper sleeps on a semaphore until a batch or its timeout.
///
/// Bounded: past `capacity` results waiting (the shipper has stopped taking them: a hung disk,
/// a blocked call) a batch is refused and counted in ``dropped``, which the shipper reports as
/// lost; the loop goes on probing. The shipper's heartbeat reports the stall itself.
///
/// Batches are kept as they come (a list of arrays), so a hand-over is O(1) under the lock
/// even when the shipper has fallen behind: appending records to one growing array copied it
/// on the loop thread, up to 54 ms a turn at start-up with 100k targets (LoopTurnClock's log).
public final class ResultHandoff: Sendable {
    private struct Pending {
        var batches: [[ResultRecord]] = []
        var count = 0
        var dropped: UInt64 = 0
    }

    private let pending = Mutex(Pending())
    private let ready = DispatchSemaphore(value: 0)
    /// Most results waiting to be taken.
    public let capacity: Int

    public init(capacity: Int = 1_000_000) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Hands results over; false (and counted) when the shipper has `capacity` waiting already.
    @discardableResult
    public func put(_ records: [ResultRecord]) -> Bool {
        guard !records.isEmpty else { return true }
        let taken = pending.withLock { p -> Bool in
            guard p.count < capacity else {
                p.dropped += UInt64(records.count)
                return false
            }
            p.batches.append(records)
            p.count += records.count
            return true
        }
        if taken { ready.signal() }
        return taken
    }

    /// Results refused because the shipper was not taking them, since the last call (the
    /// shipper counts them as lost).
    public func takeDropped() -> UInt64 {
        pending.withLock { p in
            defer { p.dropped = 0 }
            return p.dropped
        }
    }

    /// Ends a wait in ``take(waitingUpTo:)`` early (a request the shipper sent has its answer).
    public func wake() { ready.signal() }

    /// Everything handed over so far, waiting up to `timeout` for something to arrive.
    public func take(waitingUpTo timeout: Duration) -> [ResultRecord] {
        var taken = takeBatches()
        if taken.isEmpty {
            let ns = max(0, timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
            _ = ready.wait(timeout: .now() + .nanoseconds(Int(ns)))
            taken = takeBatches()
        }
        // Joined here, on the shipper's thread.
        return taken.count == 1 ? taken[0] : Array(taken.joined())
    }

    private func takeBatches() -> [[ResultRecord]] {
        pending.withLock { p in
            let t = p.batches
            p.batches = []
            p.batches.reserveCapacity(64)
            p.count = 0
            return t
        }
    }
}

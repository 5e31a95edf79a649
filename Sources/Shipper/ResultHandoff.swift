import Dispatch
import ProbeAgentCore
import Synchronization

/// Results from the probing loop to the shipper thread: the loop appends a batch per iteration
/// (one lock, no allocation beyond the array growth), the shipper takes everything at once.
/// The loop never waits on the shipper; the shipper sleeps on a semaphore until a batch or
/// its timeout.
public final class ResultHandoff: Sendable {
    private let pending = Mutex<[ResultRecord]>([])
    private let ready = DispatchSemaphore(value: 0)

    public init() {}

    public func put(_ records: [ResultRecord]) {
        guard !records.isEmpty else { return }
        pending.withLock { $0.append(contentsOf: records) }
        ready.signal()
    }

    /// Ends a wait in ``take(waitingUpTo:)`` early (a request the shipper sent has its answer).
    public func wake() { ready.signal() }

    /// Everything handed over so far, waiting up to `timeout` for something to arrive.
    public func take(waitingUpTo timeout: Duration) -> [ResultRecord] {
        var taken = pending.withLock { p in
            let t = p
            p = []
            return t
        }
        if taken.isEmpty {
            let ms = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            _ = ready.wait(timeout: .now() + .milliseconds(ms))
            taken = pending.withLock { p in
                let t = p
                p = []
                return t
            }
        }
        return taken
    }
}

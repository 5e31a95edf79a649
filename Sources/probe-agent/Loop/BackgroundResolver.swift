import Dispatch
import Foundation
import ProbeAgentCore
import ProbeEngine

/// Looks the agent's hostnames up in the background, several at once, and hands every change
/// to the loop whole. The decisions (what is due, what timed out) are ``NameResolutionTable``'s;
/// this only runs them on a queue of its own and calls getaddrinfo on Dispatch's pool.
///
/// getaddrinfo cannot be cancelled: a lookup that hangs holds its thread until the resolver
/// library gives up. The table caps lookups in flight (8), so a hung resolver holds at most
/// that many threads, and reports each hung name as failing after `resolve_timeout`.
final class BackgroundResolver: @unchecked Sendable {
    private let queue = DispatchQueue(label: "probe-agent.resolver")
    // Touched only on `queue`:
    private var table: NameResolutionTable<IPAddress>
    private var timer: DispatchSourceTimer?
    private var deliver: (@Sendable (ResolvedNames) -> Void)?
    private var delivered = ResolvedNames(addresses: [:], failures: [:])
    private var stopped = false

    init(interval: Duration, timeout: Duration) {
        table = NameResolutionTable(interval: UInt64(interval.nanosecondsValue), timeout: UInt64(timeout.nanosecondsValue))
    }

    /// Starts looking up; `deliver` gets the whole view each time it changes.
    func start(deliver: @escaping @Sendable (ResolvedNames) -> Void) {
        queue.async {
            self.deliver = deliver
            let t = DispatchSource.makeTimerSource(queue: self.queue)
            t.setEventHandler { [weak self] in self?.turn() }
            t.schedule(deadline: .distantFuture)
            t.resume()
            self.timer = t
            self.turn()
        }
    }

    /// The names to resolve now: new ones are looked up at once.
    func setNames(_ names: [String]) {
        queue.async {
            self.table.setNames(names, now: MonotonicClock.nanoseconds())
            self.turn()
        }
    }

    func stop() {
        queue.async {
            self.stopped = true
            self.timer?.cancel()
        }
    }

    private func turn() {
        guard !stopped, deliver != nil else { return }
        let now = MonotonicClock.nanoseconds()
        table.expire(now: now)
        for name in table.startDue(now: now) {
            DispatchQueue.global().async { [self] in
                let answer = Result { () throws(Resolver.Failure) in try Resolver.resolve(name) }
                    .mapError { LookupFailure($0.reason) }
                queue.async {
                    self.table.finished(name, answer, now: MonotonicClock.nanoseconds())
                    self.turn()
                }
            }
        }
        publish()
        if let at = table.nextWakeAt {
            let delay = at > now ? at - now : 0
            timer?.schedule(deadline: .now() + .nanoseconds(Int(min(delay, 3_600_000_000_000)) + 1_000_000))
        }
    }

    private func publish() {
        let view = ResolvedNames(addresses: table.addresses, failures: table.failures)
        guard view != delivered else { return }
        delivered = view
        deliver?(view)
    }
}

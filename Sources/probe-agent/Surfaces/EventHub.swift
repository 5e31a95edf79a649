import AdminAPI
import Foundation
import Logging
import ProbeAgentCore
import Synchronization

/// Monitor transitions, mode changes and reloads: logged, kept (the last 512) and fanned out
/// to every `/v1/events?follow=1` client, of which at most ``SurfaceLimits/eventFollowers``
/// at once.
///
/// `publish` is called from the probing loop and the shipper thread; it takes a lock, appends
/// and yields to subscribers' buffers — never blocks on a slow client (each subscriber's
/// stream keeps its newest 1,024 events; a client that falls further behind loses the oldest).
final class EventHub: Sendable {
    private struct State {
        var recent: [AgentEvent] = []
        var subscribers: [UInt64: AsyncStream<AgentEvent>.Continuation] = [:]
        var nextID: UInt64 = 0
        var followers = ConcurrencyLimit(limit: SurfaceLimits.eventFollowers)
    }

    private let state = Mutex(State())
    private let log: Logger
    static let keep = 512

    init(log: Logger) { self.log = log }

    func publish(_ event: AgentEvent) {
        let level: Logger.Level = switch event.kind {
        case .monitorDown, .reloadFailed, .deliveryStalled, .discoveryFailed, .pathChanged: .warning
        case .started, .stopping, .monitorUp, .monitorSuppressed, .monitorUnsuppressed, .modeChanged, .reloaded, .deliveryResumed: .notice
        }
        var meta: Logger.Metadata = ["event": "\(event.kind.rawValue)"]
        if let m = event.monitor { meta["monitor"] = "\(m)" }
        log.log(level: level, "\(event.message)", metadata: meta)
        state.withLock { s in
            s.recent.append(event)
            if s.recent.count > Self.keep { s.recent.removeFirst(s.recent.count - Self.keep) }
            for c in s.subscribers.values { c.yield(event) }
        }
    }

    var recent: [AgentEvent] { state.withLock { $0.recent } }

    /// A follower's live stream of events from now on, and how to end it early (its client
    /// went away while no event was due: nothing else would notice before the next event).
    struct Subscription: Sendable {
        let events: AsyncStream<AgentEvent>
        let end: @Sendable () -> Void
    }

    /// A live stream of events from now on; ends when the hub finishes, the consumer stops or
    /// `end` is called. nil (refused, logged) when ``SurfaceLimits/eventFollowers`` streams are
    /// followed already.
    func subscribe() -> Subscription? {
        let (stream, continuation) = AsyncStream.makeStream(of: AgentEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let id = state.withLock { s -> UInt64? in
            guard s.followers.enter() else { return nil }
            s.nextID += 1
            s.subscribers[s.nextID] = continuation
            return s.nextID
        }
        guard let id else {
            log.notice("event stream follower refused: \(SurfaceLimits.eventFollowers) already follow (the limit)")
            return nil
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { s in
                if s.subscribers.removeValue(forKey: id) != nil { s.followers.leave() }
            }
        }
        return Subscription(events: stream, end: { continuation.finish() })
    }

    /// Ends every subscriber's stream (at shutdown, so followers see the stream close).
    func finish() {
        let subs = state.withLock { s in
            defer {
                for _ in s.subscribers { s.followers.leave() }
                s.subscribers = [:]
            }
            return Array(s.subscribers.values)
        }
        for c in subs { c.finish() }
    }
}

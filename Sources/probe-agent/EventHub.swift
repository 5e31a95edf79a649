import AdminAPI
import Foundation
import Logging
import Synchronization

/// Monitor transitions, mode changes and reloads: logged, kept (the last 512) and fanned out
/// to every `/v1/events?follow=1` client.
///
/// `publish` is called from the probing loop and the shipper thread; it takes a lock, appends
/// and yields to subscribers' buffers — never blocks on a slow client (each subscriber's
/// stream keeps its newest 1,024 events; a client that falls further behind loses the oldest).
final class EventHub: Sendable {
    private struct State {
        var recent: [AgentEvent] = []
        var subscribers: [UInt64: AsyncStream<AgentEvent>.Continuation] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    private let log: Logger
    static let keep = 512

    init(log: Logger) { self.log = log }

    func publish(_ event: AgentEvent) {
        let level: Logger.Level = switch event.kind {
        case .monitorDown, .reloadFailed, .deliveryStalled: .warning
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

    /// A live stream of events from now on; ends when the hub finishes or the consumer stops.
    func subscribe() -> AsyncStream<AgentEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: AgentEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let id = state.withLock { s in
            s.nextID += 1
            s.subscribers[s.nextID] = continuation
            return s.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every subscriber's stream (at shutdown, so followers see the stream close).
    func finish() {
        let subs = state.withLock { s in
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for c in subs { c.finish() }
    }
}

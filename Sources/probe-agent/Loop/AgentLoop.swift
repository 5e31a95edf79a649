import AdminAPI
import Foundation
import Logging
import ProbeAgentCore
import ProbeEngine
import Shipper
import Synchronization

/// The agent's probing loop on a thread of its own, and the thread-safe handle to it.
///
/// Everything the loop owns (engine, schedule, ledger, addresses) lives on that thread: the
/// engine blocks in io_uring_enter, so it must never run on Swift's cooperative pool. Other
/// threads talk to it only through the mailbox and the engine's waker.
final class AgentLoop: Sendable {
    struct Requests: Sendable {
        var reloads: [ReloadOutcome] = []
        var stop = false
        var resolved: ResolvedNames?
        /// Callers waiting for a ``LoopSummary`` or a ``LoopSnapshot`` (HTTP and admin handlers).
        var summaryWaiters: [@Sendable (LoopSummary?) -> Void] = []
        var snapshotWaiters: [@Sendable (LoopSnapshot?) -> Void] = []

        var wantsSummary: Bool { !summaryWaiters.isEmpty || !snapshotWaiters.isEmpty }
    }

    private struct Mailbox {
        var requests = Requests()
        /// Set when the loop has exited: later requests are answered at once, with nil.
        var closed = false
    }

    private let mailbox = Mutex(Mailbox())
    private let waker: Mutex<Engine.Waker?> = Mutex(nil)
    private let stopped = DispatchSemaphore(value: 0)
    /// CLOCK_MONOTONIC ns of the loop's latest turn; /health reports a loop that stopped turning.
    let lastTurn = Atomic<UInt64>(0)
    /// Probing has started: the first batch went to the engine.
    let probing = Atomic<Bool>(false)

    /// Starts the loop on its thread (started early: ``LoopThread``), which takes sole ownership
    /// of `engine`; returns once the loop is set up.
    ///
    /// The engine is opened by the caller on the main thread and handed over here: CProbe drops
    /// capabilities with capset(2), which changes only the calling thread, so opening it before
    /// any other thread exists (no shipper, HTTP or Dispatch workers yet) means every thread
    /// the agent ever has starts without capabilities.
    static func start(on thread: LoopThread, engine: TakeOnce<Engine>, configPath: String, config: AgentConfig,
                      statusFile: String?, statusInterval: Duration, shipper: Shipper?, handoff: ResultHandoff,
                      events: EventHub, log: Logger) -> AgentLoop {
        let loop = AgentLoop()
        let started = DispatchSemaphore(value: 0)
        let priority = thread.priority
        thread.run {
            let delivery = shipper.map { s in ShipperHandle(handoff: handoff, stats: { @Sendable in s.stats }, stop: { @Sendable in s.stop() },
                                                              stall: { @Sendable in s.stall() }) }
            let state = LoopState(engine: engine.take()!, configPath: configPath, config: config, statusFile: statusFile,
                                  statusInterval: statusInterval, shipper: delivery, events: events, loopPriority: priority,
                                  log: log, control: loop)
            loop.waker.withLock { $0 = state.engine.waker }
            started.signal()
            state.run()
            loop.waker.withLock { $0 = nil }
            loop.close()
            loop.stopped.signal()
        }
        started.wait()
        return loop
    }

    func deliver(_ reload: ReloadOutcome) {
        let refused = mailbox.withLock { m -> Bool in
            if !m.closed { m.requests.reloads.append(reload) }
            return m.closed
        }
        if refused { reload.reply?(ReloadReply(ok: false, error: "the agent is stopping")) }
        wake()
    }

    func requestStop() {
        mailbox.withLock { $0.requests.stop = true }
        wake()
    }

    func deliver(_ names: ResolvedNames) {
        mailbox.withLock { $0.requests.resolved = names }
        wake()
    }

    /// The loop's counters and monitor states as of its next turn (within a second, usually at
    /// once); `.stopping` once the loop has stopped, `.busy` when ``SurfaceLimits/loopWaiters``
    /// callers already wait.
    func summary() async -> Result<LoopSummary, LoopUnavailable> {
        await ask(\.summaryWaiters)
    }

    /// The loop's state with its per-target tables, as of its next turn; failures as for
    /// ``summary()``. Never blocks the loop: it hands out copy-on-write values, but the loop
    /// copies a table it changes while the snapshot is held, so prefer ``summary()`` where it
    /// will do, and share one (``ScrapeSnapshots``) where many want it.
    func snapshot() async -> Result<LoopSnapshot, LoopUnavailable> {
        await ask(\.snapshotWaiters)
    }

    private enum Asked { case queued, closed, full }

    private func ask<Answer: Sendable>(
        _ waiters: WritableKeyPath<Requests, [@Sendable (Answer?) -> Void]>
    ) async -> Result<Answer, LoopUnavailable> {
        await withCheckedContinuation { (c: CheckedContinuation<Result<Answer, LoopUnavailable>, Never>) in
            let asked = mailbox.withLock { m -> Asked in
                if m.closed { return .closed }
                // Waiters are answered all at once at the loop's next turn; a pile of them is
                // clients the agent holds memory for, not a queue worth keeping.
                if m.requests[keyPath: waiters].count >= SurfaceLimits.loopWaiters { return .full }
                m.requests[keyPath: waiters].append { answer in
                    c.resume(returning: answer.map { Result<Answer, LoopUnavailable>.success($0) } ?? .failure(.stopping))
                }
                return .queued
            }
            switch asked {
            case .queued: wake()
            case .closed: c.resume(returning: .failure(.stopping))
            case .full: c.resume(returning: .failure(.busy))
            }
        }
    }

    private func wake() { waker.withLock { $0?.wake() } }

    /// Takes every pending request (called by the loop thread).
    func takeRequests() -> Requests {
        mailbox.withLock { m in
            let taken = m.requests
            m.requests = Requests()
            return taken
        }
    }

    /// The loop has exited: answer whoever still waits, and every later caller, with nil.
    private func close() {
        let left = mailbox.withLock { m in
            m.closed = true
            defer { m.requests = Requests() }
            return m.requests
        }
        for w in left.summaryWaiters { w(nil) }
        for w in left.snapshotWaiters { w(nil) }
        for r in left.reloads { r.reply?(ReloadReply(ok: false, error: "the agent is stopping")) }
    }

    func waitUntilStopped() { stopped.wait() }
}

/// Why the loop gave no answer.
enum LoopUnavailable: Error, CustomStringConvertible {
    case stopping
    case busy

    var description: String {
        switch self {
        case .stopping: "the agent is stopping"
        case .busy: "busy: \(SurfaceLimits.loopWaiters) requests already wait for the probing loop; try again"
        }
    }
}

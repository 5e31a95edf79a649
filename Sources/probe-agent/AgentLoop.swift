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
    }

    private let mailbox = Mutex(Requests())
    private let waker: Mutex<Engine.Waker?> = Mutex(nil)
    private let stopped = DispatchSemaphore(value: 0)

    /// Starts the loop thread, which takes sole ownership of `engine` (opened by the caller on
    /// the main thread, see ``EngineHandover``); returns once the loop is set up.
    static func start(engine: EngineHandover, configPath: String, config: AgentConfig, statusFile: String?,
                      statusInterval: Duration, shipper: Shipper?, handoff: ResultHandoff, log: Logger) -> AgentLoop {
        let loop = AgentLoop()
        let started = DispatchSemaphore(value: 0)
        let thread = Thread {
            let delivery = shipper.map { s in (handoff: handoff, stats: { @Sendable in s.stats }, stop: { @Sendable in s.stop() }) }
            let state = LoopState(engine: engine.take(), configPath: configPath, config: config, statusFile: statusFile,
                                  statusInterval: statusInterval, shipper: delivery, log: log, control: loop)
            loop.waker.withLock { $0 = state.engine.waker }
            started.signal()
            state.run()
            loop.waker.withLock { $0 = nil }
            loop.stopped.signal()
        }
        thread.name = "probe-loop"
        thread.start()
        started.wait()
        return loop
    }

    func deliver(_ reload: ReloadOutcome) {
        mailbox.withLock { $0.reloads.append(reload) }
        wake()
    }

    func requestStop() {
        mailbox.withLock { $0.stop = true }
        wake()
    }

    func deliver(_ names: ResolvedNames) {
        mailbox.withLock { $0.resolved = names }
        wake()
    }

    private func wake() { waker.withLock { $0?.wake() } }

    /// Takes every pending request (called by the loop thread).
    func takeRequests() -> Requests {
        mailbox.withLock { r in
            let taken = r
            r = Requests()
            return taken
        }
    }

    func waitUntilStopped() { stopped.wait() }
}

/// Moves the engine from the main thread, where it is opened, to the loop thread, which is its
/// only user afterwards.
///
/// Why the main thread: CProbe drops capabilities with capset(2), which changes only the
/// calling thread. Opening the engine before any other thread exists (no shipper, HTTP or
/// Dispatch workers yet) means every thread the agent ever has starts without capabilities.
final class EngineHandover: @unchecked Sendable {
    private var engine: Engine?
    init(_ engine: Engine) { self.engine = engine }

    /// Called once, by the loop thread.
    func take() -> Engine {
        defer { engine = nil }
        return engine!
    }
}

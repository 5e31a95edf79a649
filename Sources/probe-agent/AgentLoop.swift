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

    /// Starts the loop thread; returns once the engine is up (or throws why it is not).
    static func start(configPath: String, config: AgentConfig, statusFile: String?, statusInterval: Duration,
                      shipper: Shipper?, handoff: ResultHandoff, log: Logger) throws -> AgentLoop {
        let loop = AgentLoop()
        let started = DispatchSemaphore(value: 0)
        let startError = Mutex<String?>(nil)
        let thread = Thread {
            let state: LoopState
            do {
                let delivery = shipper.map { s in (handoff: handoff, stats: { @Sendable in s.stats }, stop: { @Sendable in s.stop() }) }
                state = try LoopState(configPath: configPath, config: config, statusFile: statusFile,
                                      statusInterval: statusInterval, shipper: delivery, log: log, control: loop)
            } catch {
                startError.withLock { $0 = "\(error)" }
                started.signal()
                loop.stopped.signal()
                return
            }
            loop.waker.withLock { $0 = state.engine.waker }
            started.signal()
            state.run()
            loop.waker.withLock { $0 = nil }
            loop.stopped.signal()
        }
        thread.name = "probe-loop"
        thread.start()
        started.wait()
        if let e = startError.withLock({ $0 }) { throw StartFailure(description: e) }
        return loop
    }

    struct StartFailure: Error, CustomStringConvertible { let description: String }

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

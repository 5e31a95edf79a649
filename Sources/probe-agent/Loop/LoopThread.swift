import Foundation
import Logging
import ProbeAgentCore
import Synchronization

/// The probing loop's thread, started as soon as the engine is open and before any other
/// thread, then waiting until ``AgentLoop`` gives it its work.
///
/// Why this early: with `scheduler.loop_priority: realtime` the main thread takes SCHED_RR while
/// it still has CAP_SYS_NICE, and the engine then drops every capability; a thread started
/// after that inherits the policy but not the capabilities. Started first, the loop's thread is
/// the only one that inherits it (the main thread goes back to normal right after). It also
/// names itself and sets its priority here, so what it runs at is known at once.
final class LoopThread: Sendable {
    /// What the thread runs at (ThreadPriority.applyToLoop), for the status.
    let priority: String
    private let mailbox = Mailbox()

    private final class Mailbox: Sendable {
        let priority = Mutex("normal")
        let work = Mutex<(@Sendable () -> Void)?>(nil)
        let started = DispatchSemaphore(value: 0)
        let handed = DispatchSemaphore(value: 0)
    }

    init(config: AgentConfig, lent: Int32, log: Logger) {
        let m = mailbox
        Thread {
            ThreadPriority.nameCallingThread("probe-loop")
            let p = ThreadPriority.applyToLoop(config, lent: lent, log: log)
            m.priority.withLock { $0 = p }
            m.started.signal()
            m.handed.wait()
            m.work.withLock { w in defer { w = nil }; return w }?()
        }.start()
        m.started.wait()
        priority = m.priority.withLock { $0 }
    }

    /// Runs `body` on the thread (once; the thread ends with it).
    func run(_ body: @escaping @Sendable () -> Void) {
        mailbox.work.withLock { $0 = body }
        mailbox.handed.signal()
    }
}

import Foundation
import Logging
import NIOPosix
import ProbeAgentCore
import ProbeEngine

/// The probing loop keeps the default priority (or, with `scheduler.loop_priority: realtime`,
/// SCHED_RR 1: measured at 200k targets with the store on the same two cores, 99.90–100% of
/// probes handed out within 10 ms against 97.4–99.1% at normal priority, CPU per probe the
/// same; README, Performance); the agent's other busy threads — the shipper,
/// the NIO event loops (HTTP client to the store, /metrics and admin servers) — run below it,
/// so when they compete for a core, probes go out on schedule and delivery and scrapes, which
/// have queues to absorb it, wait. Measured with scripts/bench-scale.sh at 100k targets:
/// lateness p99 in the window 10 → 2.5 ms with the shipper lowered.
///
/// Lowering a priority needs no privilege. Raising the loop's (`scheduler.loop_priority:
/// realtime`) needs CAP_SYS_NICE, which the agent drops once the engine is open (so the main
/// thread takes the policy before that and the loop's thread inherits it), or RLIMIT_RTPRIO.
enum ThreadPriority {
    static let background: Int32 = 10

    /// Lowers the calling thread to ``background``. On Linux PRIO_PROCESS with id 0 is the
    /// calling thread only (setpriority(2), NOTES).
    static func lowerCallingThread() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, background)
    }

    /// The slice the probing loop asks for (EEVDF, Linux 6.12+; the default here is 1.4 ms).
    ///
    /// Why: a shorter slice gives the loop an earlier virtual deadline, so when it wakes for
    /// its next tick it preempts a task running on the default slice (on a busy host, the
    /// store, say) instead of waiting for that slice to end; its share of the CPU does not
    /// change. Measured with scripts/bench-scale.sh at 200k targets with the store on the same
    /// two cores, three interleaved pairs: 97.6 / 97.6 / 91.3% of probes within 10 ms against
    /// 97.1 / 95.0 / 89.5% on the default slice, CPU per probe unchanged; at 100k, three pairs:
    /// 99.87 / 99.93 / 100% against 99.90 / 99.73 / 99.87%.
    static let loopSliceNanoseconds: UInt64 = 300_000

    /// Asks for ``loopSliceNanoseconds`` for the calling thread; needs no privilege. A refusal
    /// only leaves the default slice, so it is logged at debug level.
    static func shortenCallingThreadsSlice(log: Logger) {
        let rc = CallingThread.requestSlice(nanoseconds: loopSliceNanoseconds)
        if rc != 0 { log.debug("probing loop keeps the default scheduling slice: \(String(cString: strerror(-rc)))") }
    }

    /// The SCHED_RR priority of a `loop_priority: realtime` loop: the lowest real-time one,
    /// above every normal task, below any real-time task the host already has.
    static let loopRealtimePriority: Int32 = 1

    /// On the main thread before the engine drops the capabilities, when the config asks for a
    /// real-time loop: the main thread takes SCHED_RR while CAP_SYS_NICE is still there, so that
    /// the loop's thread, started right after the engine and before any other (``LoopThread``),
    /// inherits it; ``mainThreadBackToNormal()`` follows. 0, or a negative errno (also 0 when
    /// not asked).
    static func lendRealtimeToLoopThread(_ config: AgentConfig) -> Int32 {
        guard config.scheduler.loopPriority == .realtime else { return 0 }
        return CallingThread.setRealtime(priority: loopRealtimePriority, resetOnFork: false)
    }

    /// The main thread, once the loop's thread has started: back to SCHED_OTHER, so nothing
    /// else it starts is real-time.
    static func mainThreadBackToNormal() {
        if CallingThread.realtimePriority != 0 { CallingThread.setNormal() }
    }

    /// On the loop thread: the configured priority (a real-time one, else the short slice).
    /// Returns what the loop runs at, for the status; a refused real-time priority is a warning
    /// that names the cause, and probing goes on at normal priority.
    ///
    /// The real-time policy comes from the main thread (root or CAP_SYS_NICE), or, without
    /// capabilities, from RLIMIT_RTPRIO (systemd's `LimitRTPRIO=1`): then the loop takes it here.
    /// Either way it is set again with SCHED_RESET_ON_FORK: no thread the loop starts inherits it.
    static func applyToLoop(_ config: AgentConfig, lent: Int32, log: Logger) -> String {
        guard config.scheduler.loopPriority == .realtime else {
            shortenCallingThreadsSlice(log: log)
            return "normal"
        }
        let rc = CallingThread.setRealtime(priority: loopRealtimePriority, resetOnFork: true)
        if rc == 0 {
            log.info("probing loop runs at real-time priority (SCHED_RR \(loopRealtimePriority))")
            return "realtime (SCHED_RR \(loopRealtimePriority))"
        }
        shortenCallingThreadsSlice(log: log)
        let why = "sched_setscheduler: \(String(cString: strerror(-(lent != 0 ? lent : rc))))"
        log.warning("scheduler.loop_priority is realtime, but the probing loop runs at normal priority (\(why)); it needs root or CAP_SYS_NICE, or RLIMIT_RTPRIO >= \(loopRealtimePriority) (systemd: LimitRTPRIO=\(loopRealtimePriority) and RestrictRealtime=no)")
        return "normal (realtime refused: \(why))"
    }

    /// Names the calling thread as `top -H`, `ps -L` and perf show it. Foundation's
    /// `Thread.name`, set before `start()`, never reaches the kernel on Linux.
    static func nameCallingThread(_ name: String) { CallingThread.setName(name) }

    /// Lowers every thread of NIO's shared event loop group (on each loop, asynchronously).
    static func lowerEventLoops() {
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            loop.execute { lowerCallingThread() }
        }
    }
}

import Foundation
import Logging
import NIOPosix
import ProbeEngine

/// The probing loop keeps the default priority; the agent's other busy threads — the shipper,
/// the NIO event loops (HTTP client to the store, /metrics and admin servers) — run below it,
/// so when they compete for a core, probes go out on schedule and delivery and scrapes, which
/// have queues to absorb it, wait. Measured with scripts/bench-scale.sh at 100k targets:
/// lateness p99 in the window 10 → 2.5 ms with the shipper lowered.
///
/// Lowering a priority needs no privilege (raising the loop's would need CAP_SYS_NICE, which
/// the agent drops).
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

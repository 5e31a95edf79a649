import Foundation
import NIOPosix

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

    /// Lowers every thread of NIO's shared event loop group (on each loop, asynchronously).
    static func lowerEventLoops() {
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            loop.execute { lowerCallingThread() }
        }
    }
}

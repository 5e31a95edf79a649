import AdminAPI
import Foundation
import Logging
import ProbeAgentCore

/// Loads and validates a new config off the probing loop, then hands it over whole.
///
/// Parsing a 100k-target YAML file takes long enough to stall probing, so it happens here, on a
/// queue of its own; the loop only swaps in a ready config (or records why a file was refused).
/// Triggered by SIGHUP, the admin API, and the file changing on disk: its stamp (device, inode,
/// size, mtime) is polled twice a second, and a change is read once it has held still for a
/// second (``SettledFileChange``), so a file being written in place is not read half-written. A
/// file that does not load is reported and the running config stays; the same version is not
/// tried again until it changes.
/// Requests made while a reload runs become one next reload (``ReloadCoalescer``), whose
/// outcome each of them is told.
///
/// The file's `process` section (user, group) is never applied here: the agent switched users
/// at start, for good (the loop logs that such a change waits for a restart).
final class ConfigReloader: @unchecked Sendable {
    static let pollInterval: DispatchTimeInterval = .milliseconds(500)
    static let quietNanoseconds: UInt64 = 1_000_000_000

    private let queue = DispatchQueue(label: "probe-agent.reload")
    private let path: String
    /// Where a loaded config goes: discovery merges its targets in and hands it to the loop.
    private let deliver: @Sendable (ReloadOutcome) -> Void
    private var watch: SettledFileChange<CredentialFile.Stamp?> // touched only on `queue`
    private var timer: DispatchSourceTimer?
    typealias Reply = (@Sendable (ReloadReply) -> Void)?
    private var reloads = ReloadCoalescer<Reply>() // touched only on `queue`

    init(path: String, deliver: @escaping @Sendable (ReloadOutcome) -> Void) {
        self.path = path
        self.deliver = deliver
        watch = SettledFileChange(read: CredentialFile.stamp(path), quietNanoseconds: Self.quietNanoseconds)
    }

    func start() {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + Self.pollInterval, repeating: Self.pollInterval)
        t.setEventHandler { [weak self] in
            guard let self, self.watch.poll(CredentialFile.stamp(self.path), now: MonotonicClock.nanoseconds()) else { return }
            self.enqueue(reason: "file changed", reply: nil)
        }
        t.resume()
        timer = t
    }

    func stop() { timer?.cancel() }

    /// - Parameter reply: told what the loop did with the file (admin API reloads wait for it).
    func requestReload(reason: String, reply: Reply = nil) {
        queue.async { self.enqueue(reason: reason, reply: reply) }
    }

    private func enqueue(reason: String, reply: Reply) {
        guard let batch = reloads.request(reason: reason, waiter: reply) else { return } // joins the next reload
        load(reason: batch.reason)
    }

    /// The loop applied or refused the running reload: tell its requesters, start the next.
    private func finished(_ result: ReloadReply) {
        let (done, next) = reloads.finished()
        for reply in done.waiters { reply?(result) }
        if let next { load(reason: next.reason) }
    }

    private func load(reason: String) {
        ServiceNotifier.shared.reloading() // the loop sends READY=1 once it applied the outcome
        watch.didRead(CredentialFile.stamp(path))
        var outcome: ReloadOutcome
        do {
            // Discovery prepares it (PreparedConfig: literals parsed off the loop). No lookup:
            // the loop's background resolver takes new names at once.
            outcome = ReloadOutcome(loaded: try AgentConfig.load(contentsOf: path), reason: reason)
        } catch {
            outcome = ReloadOutcome(reason: reason, failure: error.errors.map(\.description).joined(separator: "; "))
        }
        outcome.reply = { [self] result in queue.async { self.finished(result) } }
        deliver(outcome)
    }
}

/// A config loaded from the file (then ready to swap in, once discovery prepared it), or why
/// the file was refused.
struct ReloadOutcome: Sendable {
    /// The config as the file has it (static targets only).
    var loaded: AgentConfig?
    /// `loaded` with its discovered targets, made ready for the loop (TargetDiscovery).
    var prepared: PreparedConfig?
    var reason: String
    var failure: String?
    /// Called by the loop once it applied or refused this outcome.
    var reply: (@Sendable (ReloadReply) -> Void)?

    init(loaded: AgentConfig, reason: String) {
        self.loaded = loaded
        self.reason = reason
    }

    init(prepared: PreparedConfig, reason: String) {
        self.prepared = prepared
        self.reason = reason
    }

    init(reason: String, failure: String) {
        self.reason = reason
        self.failure = failure
    }
}

import AdminAPI
import Foundation
import Logging
import ProbeAgentCore

/// Loads and validates a new config off the probing loop, then hands it over whole.
///
/// Parsing a 100k-target YAML file takes long enough to stall probing, so it happens here, on a queue of its own; the loop only swaps in a ready config
/// (or records why a file was refused). Triggered by SIGHUP and by the file changing on disk
/// (its size, mtime or inode, checked every second).
final class ConfigReloader: @unchecked Sendable {
    private let queue = DispatchQueue(label: "probe-agent.reload")
    private let path: String
    private let loop: AgentLoop
    private var stamp: FileStamp? // touched only on `queue`
    private var timer: DispatchSourceTimer?

    init(path: String, loop: AgentLoop) {
        self.path = path
        self.loop = loop
        stamp = FileStamp(path: path)
    }

    func start() {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in
            guard let self, FileStamp(path: self.path) != self.stamp else { return }
            self.load(reason: "file changed")
        }
        t.resume()
        timer = t
    }

    func stop() { timer?.cancel() }

    /// - Parameter reply: told what the loop did with the file (admin API reloads wait for it).
    func requestReload(reason: String, reply: (@Sendable (ReloadReply) -> Void)? = nil) {
        queue.async { self.load(reason: reason, reply: reply) }
    }

    private func load(reason: String, reply: (@Sendable (ReloadReply) -> Void)? = nil) {
        ServiceNotifier.shared.reloading() // the loop sends READY=1 once it applied the outcome
        stamp = FileStamp(path: path)
        var outcome: ReloadOutcome
        do {
            let config = try AgentConfig.load(contentsOf: path)
            // Parses every literal here, not on the loop. No lookup: the loop's background
            // resolver takes new names at once, and a hung resolver cannot hold up a reload.
            let book = AddressBook(config: config)
            outcome = ReloadOutcome(config: config, addresses: book, reason: reason)
        } catch {
            outcome = ReloadOutcome(reason: reason, failure: error.errors.map(\.description).joined(separator: "; "))
        }
        outcome.reply = reply
        loop.deliver(outcome)
    }
}

/// A config ready to swap in, or why the file was refused.
struct ReloadOutcome: Sendable {
    var config: AgentConfig?
    var addresses: AddressBook?
    var reason: String
    var failure: String?
    /// Called by the loop once it applied or refused this outcome.
    var reply: (@Sendable (ReloadReply) -> Void)?

    init(config: AgentConfig, addresses: AddressBook, reason: String) {
        self.config = config
        self.addresses = addresses
        self.reason = reason
    }

    init(reason: String, failure: String) {
        self.reason = reason
        self.failure = failure
    }
}

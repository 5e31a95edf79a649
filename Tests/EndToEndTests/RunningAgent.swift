import AdminAPI
import Foundation
import TestSupport
import Testing

/// A real `probe-agent` process started by a test, with its own temp dir for the config and
/// the status file; stopped by PID (SIGTERM, then SIGKILL after a bound) and cleaned up.
/// It can also be started as systemd would start it: extra environment ($NOTIFY_SOCKET,
/// $WATCHDOG_USEC, $JOURNAL_STREAM …) and a launcher (prlimit, setpriv …), through
/// `/usr/bin/env`, which execs, so the PID stays the agent's.
final class RunningAgent {
    let dir: URL
    let configURL: URL
    let statusURL: URL
    let logURL: URL
    /// The admin socket (in the temp dir unless the config names one).
    let socketPath: String
    private(set) var process: ChildProcess!

    /// - Parameters:
    ///   - config: the YAML; `$DIR` stands for the agent's temp dir.
    ///   - hostsFile: when set, the agent runs in a private mount namespace where this file is
    ///     bind-mounted over /etc/hosts (so a test can move a name between addresses).
    ///   - resolvConf: likewise over /etc/resolv.conf (a test's own name server).
    ///   - environment: extra variables, as `NAME=value`.
    ///   - launcher: a command that execs its arguments, placed before the agent.
    ///   - beforeStart: runs once the paths exist and before the agent starts (e.g. to create
    ///     the log file and read its inode for $JOURNAL_STREAM); returns more variables.
    ///   - arguments: more agent options; by default `--run-as-root` (started as root, the
    ///     agent refuses to stay root unless told to; tests that switch users pass `--user`).
    init(config: String, statusInterval: String = "1s", hostsFile: URL? = nil, resolvConf: URL? = nil, environment: [String] = [],
         launcher: [String] = [], arguments: [String] = ["--run-as-root"],
         beforeStart: ((RunningAgent) throws -> [String])? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-agent-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configURL = dir.appendingPathComponent("agent.yaml")
        statusURL = dir.appendingPathComponent("status.json")
        logURL = dir.appendingPathComponent("agent.log")
        // Every test agent gets its own listeners: any free TCP port, a socket in its temp dir.
        var config = config.replacingOccurrences(of: "$DIR", with: dir.path)
        if !config.contains("\nhttp:") { config += "\nhttp:\n  listen: 127.0.0.1:0\n" }
        if let range = config.range(of: "socket: ") {
            socketPath = String(config[range.upperBound...].prefix { $0 != "\n" })
        } else {
            socketPath = dir.appendingPathComponent("admin.sock").path
            config += "\nadmin:\n  socket: \(socketPath)\n"
        }
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        var agentArgs = [Tools.probeAgent, "--config", configURL.path, "--status-file", statusURL.path,
                         "--status-interval", statusInterval] + arguments
        let more = try beforeStart?(self) ?? []
        if !(environment + more + launcher).isEmpty { agentArgs = ["/usr/bin/env"] + environment + more + launcher + agentArgs }
        let mounts = [(hostsFile, "/etc/hosts"), (resolvConf, "/etc/resolv.conf")].compactMap { f, on in f.map { ($0.path, on) } }
        if !mounts.isEmpty {
            // exec keeps the PID, so stopping by PID still reaches the agent itself.
            let script = mounts.map { "mount --bind '\($0.0)' \($0.1)" }.joined(separator: " && ") + " && exec \"$@\""
            process = try ChildProcess(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                        script, "sh"] + agentArgs, output: logURL.path)
        } else {
            process = try ChildProcess(agentArgs, output: logURL.path)
        }
    }

    deinit {
        process = nil // SIGKILLs it if a test left it running
        try? FileManager.default.removeItem(at: dir)
    }

    var pid: pid_t { process.pid }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Polls the log until it contains `text`; false if it never did within `timeout`.
    func waitForLog(_ text: String, timeout: TimeInterval, every pollMicroseconds: UInt32 = 100_000) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(pollMicroseconds)
        }
        return false
    }

    func signal(_ sig: Int32) { process.signal(sig) }

    /// SIGTERM and wait (bounded) for the exit status; nil (after SIGKILL) if it did not exit.
    func stop(timeout: TimeInterval = 15) -> Int32? {
        signal(SIGTERM)
        if let status = process.wait(timeout: timeout) { return status }
        process.signal(SIGKILL)
        _ = process.wait(timeout: 5)
        return nil
    }

    /// The latest status snapshot.
    func status() throws -> AgentStatus {
        try JSONDecoder.admin.decode(AgentStatus.self, from: Data(contentsOf: statusURL))
    }

    /// Polls the status file until `ready` holds; nil if it never did within `timeout`.
    func waitForStatus(timeout: TimeInterval, _ ready: (AgentStatus) -> Bool) -> AgentStatus? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let s = try? status(), ready(s) { return s }
            usleep(100_000)
        }
        return nil
    }

    /// Replaces the config file; the test's listeners are kept as in ``init``.
    func rewriteConfig(_ text: String) throws {
        var text = text
        if !text.contains("\nhttp:") { text += "\nhttp:\n  listen: \(httpAddress ?? "127.0.0.1:0")\n" }
        if !text.contains("\nadmin:") { text += "\nadmin:\n  socket: \(socketPath)\n" }
        try text.write(to: configURL, atomically: true, encoding: .utf8)
    }

    /// `host:port` of the HTTP listener (http or https), from the agent's log line (nil until it listens).
    var httpAddress: String? {
        guard let r = log.range(of: "on http://") ?? log.range(of: "on https://") else { return nil }
        let rest = log[r.upperBound...]
        return String(rest.prefix { !$0.isWhitespace })
    }

    /// Waits (bounded) until the agent serves HTTP and the admin socket; the HTTP address.
    func waitForListeners(timeout: TimeInterval = 60) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let a = httpAddress, FileManager.default.fileExists(atPath: socketPath) { return a }
            usleep(100_000)
        }
        return nil
    }

    /// `agentctl ARGS --socket <this agent's socket>`.
    func agentctl(_ args: [String], timeout: TimeInterval = 60) throws -> Tools.Output {
        try Tools.run([Tools.agentctl] + args + ["--socket", socketPath], timeout: timeout)
    }
}

extension AgentStatus {
    /// Every target in the status file's per-target list (the admin reply has none).
    var allTargets: [Target] { (monitors ?? []).flatMap(\.targets) }
    /// Probes sent to every target, from the status file.
    var sentTotal: Int { allTargets.reduce(0) { $0 + Int($1.record?.sent ?? 0) } }
    /// Probes sent to every target of a monitor, from the status file's per-target counters.
    func sent(_ id: String) -> Int { monitor(id)?.targets.reduce(0) { $0 + Int($1.record?.sent ?? 0) } ?? 0 }
}

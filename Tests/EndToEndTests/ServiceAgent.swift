import Foundation

/// A real probe-agent started as systemd would start it: with extra environment variables
/// ($NOTIFY_SOCKET, $WATCHDOG_USEC, $JOURNAL_STREAM …). Through `/usr/bin/env`, which execs, so
/// the PID is the agent's and stopping by PID reaches it. Own temp dir; stopped and removed
/// like ``RunningAgent``.
final class ServiceAgent {
    let dir: URL
    let configURL: URL
    let statusURL: URL
    let logURL: URL
    private(set) var process: ChildProcess!

    /// - Parameters:
    ///   - environment: extra variables, as `NAME=value`.
    ///   - launcher: a command that execs its arguments (prlimit, setpriv …), placed before the agent.
    ///   - beforeStart: runs once the paths exist and before the agent starts (e.g. to create
    ///     the log file and read its inode for $JOURNAL_STREAM); returns more variables.
    init(config: String, environment: [String] = [], launcher: [String] = [], beforeStart: ((ServiceAgent) throws -> [String])? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-agent-svc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configURL = dir.appendingPathComponent("agent.yaml")
        statusURL = dir.appendingPathComponent("status.json")
        logURL = dir.appendingPathComponent("agent.log")
        // Own listeners, as RunningAgent gives them: any free TCP port, a socket in the temp dir.
        var config = config.replacingOccurrences(of: "$DIR", with: dir.path)
        if !config.contains("\nhttp:") { config += "\nhttp:\n  listen: 127.0.0.1:0\n" }
        if !config.contains("\nadmin:") { config += "\nadmin:\n  socket: \(dir.appendingPathComponent("admin.sock").path)\n" }
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let more = try beforeStart?(self) ?? []
        process = try ChildProcess(["/usr/bin/env"] + environment + more + launcher + [
            Tools.probeAgent, "--config", configURL.path, "--status-file", statusURL.path, "--status-interval", "1s",
        ], output: logURL.path)
    }

    deinit {
        process = nil // SIGKILLs it if a test left it running
        try? FileManager.default.removeItem(at: dir)
    }

    var pid: pid_t { process.pid }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) { process.signal(sig) }

    /// SIGTERM and wait (bounded) for the exit status; nil (after SIGKILL) if it did not exit.
    func stop(timeout: TimeInterval = 15) -> Int32? {
        signal(SIGTERM)
        if let status = process.wait(timeout: timeout) { return status }
        process.signal(SIGKILL)
        _ = process.wait(timeout: 5)
        return nil
    }

    /// Polls the status file until `ready` holds; nil if it never did within `timeout`.
    func waitForStatus(timeout: TimeInterval, _ ready: (AgentStatus) -> Bool) -> AgentStatus? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let data = try? Data(contentsOf: statusURL),
               let s = try? JSONDecoder().decode(AgentStatus.self, from: data), ready(s) { return s }
            usleep(100_000)
        }
        return nil
    }

    /// Polls the log until it contains `text`; false if it never did within `timeout`.
    func waitForLog(_ text: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(100_000)
        }
        return false
    }
}

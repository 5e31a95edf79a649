import Foundation
import Testing

/// A real `probe-agent` process started by a test, with its own temp dir for the config and
/// the status file; stopped by PID (SIGTERM, then SIGKILL after a bound) and cleaned up.
final class RunningAgent {
    let dir: URL
    let configURL: URL
    let statusURL: URL
    let logURL: URL
    private(set) var process: ChildProcess!

    /// - Parameter hostsFile: when set, the agent runs in a private mount namespace where this
    ///   file is bind-mounted over /etc/hosts (so a test can move a name between addresses).
    init(config: String, statusInterval: String = "1s", hostsFile: URL? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-agent-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configURL = dir.appendingPathComponent("agent.yaml")
        statusURL = dir.appendingPathComponent("status.json")
        logURL = dir.appendingPathComponent("agent.log")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let agentArgs = [Tools.probeAgent, "--config", configURL.path, "--status-file", statusURL.path,
                         "--status-interval", statusInterval]
        if let hostsFile {
            // exec keeps the PID, so stopping by PID still reaches the agent itself.
            process = try ChildProcess(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                        "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hostsFile.path] + agentArgs,
                                       output: logURL.path)
        } else {
            process = try ChildProcess(agentArgs, output: logURL.path)
        }
    }

    deinit {
        process = nil // SIGKILLs it if a test left it running
        try? FileManager.default.removeItem(at: dir)
    }

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

    /// The latest status snapshot.
    func status() throws -> AgentStatus {
        try JSONDecoder().decode(AgentStatus.self, from: Data(contentsOf: statusURL))
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

    func rewriteConfig(_ text: String) throws {
        try text.write(to: configURL, atomically: true, encoding: .utf8)
    }
}

/// The parts of the agent's status file the tests read.
struct AgentStatus: Decodable {
    struct Lateness: Decodable { var count: Int; var p50Seconds: Double; var p99Seconds: Double; var maxSeconds: Double }
    struct Scheduler: Decodable { var entries: Int; var fired: Int; var skippedInFlight: Int; var staleResults: Int; var lateness: Lateness }
    struct Engine: Decodable { var completed: Int; var capabilitiesDropped: Bool; var unmatchedStale: Int }
    struct Delivery: Decodable {
        var mode: String; var modeHistory: [String]
        var resultsReceived: Int; var resultsShipped: Int; var retries: Int
        var deadLetterRequests: Int; var deadLetterResults: Int; var tooOldResultsDropped: Int
        var resultsLost: Int; var spillWriteErrors: Int; var spillPendingRecords: Int; var spillDroppedRecords: Int; var spillTornTailBytes: Int
        var lastError: String?
    }
    struct Reloads: Decodable {
        var succeeded: Int; var failed: Int; var lastError: String?
        var unchanged: [String]?; var changed: [String]?; var added: [String]?; var removed: [String]?
    }
    struct Record: Decodable {
        var sent: Int; var ok: Int; var timeouts: Int; var refused: Int; var suppressed: Int; var lastOutcome: String?
    }
    struct Target: Decodable { var target: String; var address: String?; var record: Record? }
    struct Monitor: Decodable { var id: String; var configHash: String; var down: Bool; var suppressed: Bool; var targets: [Target] }
    var cpuSeconds: Double
    var scheduler: Scheduler
    var engine: Engine
    var reloads: Reloads
    var resolverFailures: [String: String]
    var delivery: Delivery?
    var monitors: [Monitor]

    func monitor(_ id: String) -> Monitor? { monitors.first { $0.id == id } }
    func sent(_ id: String) -> Int { monitor(id)?.targets.reduce(0) { $0 + ($1.record?.sent ?? 0) } ?? 0 }
}

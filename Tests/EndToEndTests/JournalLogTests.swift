import Foundation
import Testing

/// The agent's log lines: `<N>`-prefixed for journald when $JOURNAL_STREAM names its stderr,
/// timestamped otherwise.
@Suite("probe-agent logs for journald", .serialized)
struct JournalLogTests {
    static let config = "log_level: info\n" + TestConfig.closedPort(["127.0.0.1"])

    /// Starts the agent with $JOURNAL_STREAM set by `stream` (given the log file's device and
    /// inode), waits for it to probe, stops it, and returns the log lines.
    private func run(stream: @escaping (stat) -> String) throws -> (lines: [String], exit: Int32?) {
        let agent = try RunningAgent(config: Self.config) { agent in
            _ = FileManager.default.createFile(atPath: agent.logURL.path, contents: nil) // the child reopens this inode
            var st = stat()
            guard stat(agent.logURL.path, &st) == 0 else { throw POSIXError(.ENOENT) }
            return ["JOURNAL_STREAM=\(stream(st))"]
        }
        #expect(agent.waitForLog("probing 1 monitors", timeout: 15), "log:\n\(agent.log)")
        let exit = agent.stop()
        return (agent.log.split(separator: "\n").map(String.init), exit)
    }

    @Test(.enabled(if: Tools.isRoot, "the engine needs CAP_NET_RAW (or ping_group_range) to open its ICMP sockets"),
          .timeLimit(.minutes(4)))
    func underJournaldEveryLineHasAPriorityAndNoTimestamp() throws {
        let (lines, exit) = try run { "\($0.st_dev):\($0.st_ino)" }
        #expect(exit == 0)
        #expect(lines.count >= 3, "\(lines)")
        for line in lines {
            #expect(line.range(of: #"^<[2-7]>\S"#, options: .regularExpression) != nil, "\(line)")
            #expect(line.range(of: #"\d{4}-\d\d-\d\dT\d\d:"#, options: .regularExpression) == nil, "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("<6>probing 1 monitors, 1 targets") }, "info is priority 6")
        #expect(lines.contains { $0.hasPrefix("<5>SIGTERM: stopping") }, "notice is priority 5")
    }

    @Test(.enabled(if: Tools.isRoot, "the engine needs CAP_NET_RAW (or ping_group_range) to open its ICMP sockets"),
          .timeLimit(.minutes(4)))
    func aJournalStreamThatIsNotStderrGetsTimestampedLines() throws {
        // Inherited from a parent whose stderr was the journal, but ours is a file.
        let (lines, exit) = try run { "\($0.st_dev):\($0.st_ino + 1)" }
        #expect(exit == 0)
        #expect(lines.count >= 3, "\(lines)")
        for line in lines {
            #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info|notice|warning|error|critical) "#,
                               options: .regularExpression) != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains(" notice SIGTERM: stopping") })
    }
}

import AdminAPI
import Foundation
import TestSupport
import Testing

/// Every agentctl command that talks to a running agent, against the real binaries: human
/// output, --json, exit codes, reload after editing the file, the event stream, and the errors
/// when no agent runs or the socket is not accessible.
@Suite("agentctl against a running agent", .serialized, .timeLimit(.minutes(4)))
struct AgentctlAdminTests {
    static func config(store: String, spill: URL, extraMonitor: String = "") -> String {
        """
        log_level: info
        \(TestConfig.delivery(store: store, spill: spill))
        monitors:
          - id: core
            protocol: icmp
            cadence: 1s
            timeout: 500ms
            targets: [127.0.0.1, 127.0.0.2]
          - id: edge
            protocol: tcp-connect
            port: 1
            cadence: 1s
            timeout: 300ms
            targets: [127.0.0.4]
            depends_on: [core]
        \(extraMonitor)
        """
    }

    static func decode<T: Decodable>(_ type: T.Type, _ out: Tools.Output) throws -> T {
        try JSONDecoder.admin.decode(T.self, from: Data(out.stdout.utf8))
    }

    @Test("status, queue-stats, monitors, graph, reload, events: tables, JSON and exit codes")
    func everyCommand() throws {
        let store = try FakeStore()
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("agentctl-spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill))
        _ = try #require(agent.waitForListeners(), "log:\n\(agent.log)")
        _ = agent.waitForStatus(timeout: 20) { $0.sent("core") >= 4 && ($0.delivery?.resultsShipped ?? 0) > 0 }

        let status = try agent.agentctl(["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains(#/probing +yes/#) && status.stdout.contains("capabilities dropped: yes"), "\(status.stdout)")
        let s = try Self.decode(AgentStatus.self, try agent.agentctl(["status", "--json"]))
        #expect(s.ready && s.monitorCount == 2 && s.targetCount == 3 && s.monitorsDown == ["edge"] && s.delivery?.mode == .normal)
        #expect(s.health.status == "ok" && s.monitors == nil, "the reply leaves the per-target list to the status file")
        // One model: the status file the loop writes decodes as the same type, with the tables.
        let file = try agent.status()
        #expect(file.monitorCount == s.monitorCount && file.scheduler.loopPriority == s.scheduler.loopPriority
                && file.monitors?.count == 2 && file.monitorsDown == s.monitorsDown && file.health.status == "ok")
        #expect(status.stdout.contains("send lateness") && s.scheduler.sendLateness.count > 0
                && s.scheduler.sendLateness.count <= s.scheduler.lateness.count, "\(status.stdout)")

        let queue = try agent.agentctl(["queue-stats"])
        #expect(queue.status == 0 && queue.stdout.contains("memory queue") && queue.stdout.contains("remote write"), "\(queue.stdout)")
        let q = try Self.decode(QueueStatsReply.self, try agent.agentctl(["queue-stats", "--json"]))
        #expect(q.remoteWriteConfigured && q.resultsShipped > 0 && q.resultsLost == 0 && q.remoteWrite.samplesSent > 0)
        #expect((q.remoteWrite.lagSeconds ?? 99) < 30)
        #expect(q.memory.capacity == 100_000, "mem_items_cap auto at 3 targets: the minimum")

        let monitors = try agent.agentctl(["monitors"])
        #expect(monitors.status == 0)
        let rows = monitors.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.first?.first == "MONITOR" && rows.contains { $0.first == "edge" && $0.contains("down") }, "\(monitors.stdout)")
        let one = try agent.agentctl(["monitors", "--monitor", "core"])
        #expect(one.stdout.contains("127.0.0.2") && one.stdout.contains("100.0%"), "\(one.stdout)")
        let m = try Self.decode(MonitorsReply.self, try agent.agentctl(["monitors", "--json"]))
        let edge = try #require(m.monitors.first { $0.id == "edge" })
        #expect(edge.state == "down" && edge.successRate == 0 && edge.targets.first?.lastOutcome == "refused")
        #expect(m.monitors.first { $0.id == "core" }?.successRate == 1)
        let missing = try agent.agentctl(["monitors", "--monitor", "nope"])
        #expect(missing.status == 1 && missing.stderr.contains("no monitor 'nope'"))

        let graph = try agent.agentctl(["monitors", "--graph"])
        #expect(graph.stdout == "core [up]\n└── edge [down]\n", "\(graph.stdout)")
        let g = try Self.decode(GraphReply.self, try agent.agentctl(["monitors", "--graph", "--json"]))
        #expect(g.nodes.first { $0.id == "edge" }?.dependsOn == ["core"])

        // events --follow, running while the file is edited and reloaded.
        let followLog = agent.dir.appendingPathComponent("follow.txt").path
        let follower = try ChildProcess([Tools.agentctl, "events", "--follow", "--json", "--socket", agent.socketPath], output: followLog)

        try agent.rewriteConfig(Self.config(store: store.url, spill: spill, extraMonitor: """
              - id: added
                protocol: icmp
                targets: [127.0.0.5]
            """))
        let reload = try agent.agentctl(["reload"])
        #expect(reload.status == 0 && reload.stdout.contains("1 added") && reload.stdout.contains("added: added"), "\(reload.stdout)\(reload.stderr)")
        try agent.rewriteConfig("monitors:\n  - id: bad\n    protocol: icmp\n    cadence: soon\n    targets: [127.0.0.1]\n")
        let refused = try agent.agentctl(["reload"])
        #expect(refused.status == 1 && refused.stderr.contains("reload refused") && refused.stderr.contains(":4:"), "\(refused.stderr)")
        let refusedJSON = try Self.decode(ReloadReply.self, try agent.agentctl(["reload", "--json"]))
        #expect(!refusedJSON.ok && refusedJSON.error?.contains("cadence") == true)

        let events = try agent.agentctl(["events"])
        #expect(events.stdout.contains("reloaded") && events.stdout.contains("reload_failed") && events.stdout.contains("monitor_down"), "\(events.stdout)")
        let deadline = Date().addingTimeInterval(20)
        var streamed = ""
        while Date() < deadline {
            streamed = (try? String(contentsOfFile: followLog, encoding: .utf8)) ?? ""
            if streamed.contains("\"reload_failed\"") { break }
            usleep(200_000)
        }
        let kinds = streamed.split(separator: "\n").compactMap { try? JSONDecoder.admin.decode(AgentEvent.self, from: Data($0.utf8)).kind }
        #expect(kinds.contains(.reloaded) && kinds.contains(.reloadFailed), "streamed:\n\(streamed)")

        #expect(agent.stop() == 0)
        #expect(follower.wait(timeout: 15) == 0, "events --follow ends when the agent stops")
        let gone = try Tools.run([Tools.agentctl, "status", "--socket", agent.socketPath])
        #expect(gone.status == 3 && gone.stderr.contains("probe-agent is not running"), "\(gone.stderr)")
    }

    @Test("mem_items_cap auto: the running agent's memory queue holds 10 results per target")
    func memoryQueueSizedFromTheTargets() throws {
        let store = try FakeStore()
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("agentctl-spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        // 10,500 loopback targets on a slow cadence (a light load) + the 3 of the base config.
        let many = (0..<10_500).map { "127.1.\($0 / 250).\($0 % 250 + 1)" }.joined(separator: ", ")
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill, extraMonitor: """
              - id: many
                protocol: icmp
                cadence: 60s
                targets: [\(many)]
            """))
        _ = try #require(agent.waitForListeners(), "log:\n\(agent.log)")
        let q = try Self.decode(QueueStatsReply.self, try agent.agentctl(["queue-stats", "--json"]))
        #expect(q.remoteWriteConfigured && q.memory.capacity == 10 * 10_503)
        #expect(agent.stop() == 0)
    }

    @Test("SIGTERM while the store is down: exit 0, every result on disk, and queue-stats shows them after restart")
    func sigtermPersists() throws {
        let store = try FakeStore()
        try store.setMode("500")
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("agentctl-spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        let cfg = Self.config(store: store.url, spill: spill)
        let first = try RunningAgent(config: cfg)
        _ = try #require(first.waitForListeners(), "log:\n\(first.log)")
        _ = first.waitForStatus(timeout: 20) { ($0.delivery?.resultsReceived ?? 0) >= 9 }
        let q1 = try Self.decode(QueueStatsReply.self, try first.agentctl(["queue-stats", "--json"]))
        #expect(q1.delivery?.mode == "degraded")
        #expect(first.stop() == 0)
        let made = try #require(try first.status().delivery).resultsReceived

        let second = try RunningAgent(config: cfg)
        _ = try #require(second.waitForListeners(), "log:\n\(second.log)")
        let q2 = try Self.decode(QueueStatsReply.self, try second.agentctl(["queue-stats", "--json"]))
        #expect(q2.spill.pendingResults >= made, "all \(made) results of the first run are on disk")
        #expect(q2.spill.segments > 0 && q2.spill.bytes > 0 && q2.resultsLost == 0)
        #expect((q2.backfill.etaSeconds ?? 0) > 0)
        #expect(second.stop() == 0)
    }

    @Test("no agent, a stale socket, or no permission: a clear message and exit 3")
    func unreachable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agentctl-none-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("admin.sock").path
        for command in [["status"], ["queue-stats", "--json"], ["monitors"], ["reload"], ["events", "--follow"]] {
            let out = try Tools.run([Tools.agentctl] + command + ["--socket", missing])
            #expect(out.status == 3, "\(command)")
            #expect(out.stderr.contains("probe-agent is not running: no admin socket at \(missing)"), "\(out.stderr)")
            #expect(out.stdout.isEmpty)
        }
        // A socket file nobody listens on (an agent that was killed).
        let stale = dir.appendingPathComponent("stale.sock").path
        _ = try Tools.run(["python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])", stale])
        let staleOut = try Tools.run([Tools.agentctl, "status", "--socket", stale])
        #expect(staleOut.status == 3 && staleOut.stderr.contains("nothing listens on \(stale)"), "\(staleOut.stderr)")
        // The environment variable names the socket too.
        let env = try Tools.run(["/usr/bin/env", "PROBE_AGENT_SOCKET=\(missing)", Tools.agentctl, "status"])
        #expect(env.status == 3 && env.stderr.contains(missing))

        guard getuid() == 0 else { return }
        let agent = try RunningAgent(config: "monitors:\n  - id: lo\n    protocol: icmp\n    targets: [127.0.0.1]\n")
        _ = try #require(agent.waitForListeners(), "log:\n\(agent.log)")
        // The socket is 0660 root:root: an unprivileged user may not connect.
        let attrs = try FileManager.default.attributesOfItem(atPath: agent.socketPath)
        #expect((attrs[.posixPermissions] as? Int) == 0o660)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: agent.dir.path)
        let denied = try Tools.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                    Tools.agentctl, "status", "--socket", agent.socketPath])
        #expect(denied.status == 3 && denied.stderr.contains("permission denied on \(agent.socketPath)"), "\(denied.stderr)")
        #expect(agent.stop() == 0)
    }
}

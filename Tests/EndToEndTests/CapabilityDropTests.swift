import Foundation
import TestSupport
import Testing

/// The agent started as root keeps no capability in any thread once its sockets are open,
/// and still probes with them.
@Suite("probe-agent drops every capability", .serialized)
struct CapabilityDropTests {
    /// Raw ICMP v4 + v6, plus remote write to a closed loopback port so the shipper and its
    /// HTTP client threads exist too (they spill to the temp dir).
    static let config = """
        monitors:
          - id: icmp
            protocol: icmp
            cadence: 500ms
            timeout: 200ms
            targets: [127.0.0.1, "::1"]
        spill:
          dir: $DIR/spill
        remote_write:
          url: http://127.0.0.1:9/api/v1/write
          flush_interval: 100ms
        """

    @Test(.enabled(if: Tools.isRoot, "starts the agent as root to see that it gives the capabilities up"),
          .timeLimit(.minutes(4)))
    func everyThreadHasEmptyCapabilitySetsWhileICMPProbesSucceed() throws {
        let agent = try RunningAgent(config: Self.config)
        let probed = agent.waitForStatus(timeout: 20) { s in
            s.monitor("icmp")?.targets.allSatisfy { ($0.record?.ok ?? 0) >= 2 } == true
        }
        let status = try #require(probed, "raw ICMP probes to loopback should succeed; log:\n\(agent.log)")
        #expect(status.engine.capabilitiesDropped)
        #expect(status.delivery?.resultsReceived ?? 0 > 0, "the shipper thread is running")

        let threads = try ThreadCapabilities.read(pid: agent.pid)
        #expect(threads.count >= 3, "main, probe loop and helper threads: \(threads.map(\.name))")
        for t in threads {
            #expect(t.sets == ThreadCapabilities.empty, "thread \(t.tid) (\(t.name)): \(t.sets)")
        }
        // And the probes go on without them.
        let sentBefore = status.sent("icmp")
        let later = agent.waitForStatus(timeout: 10) { $0.sent("icmp") >= sentBefore + 4 }
        #expect(later?.monitor("icmp")?.targets.allSatisfy { $0.record?.lastOutcome == .ok } == true)
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    /// As config/probe-agent.service runs it: a user that is not root, CAP_NET_RAW only as an
    /// ambient capability (and the only one in the bounding set), no_new_privs, and a memlock
    /// limit below the unit's LimitMEMLOCK=16M (4 MiB: raising it would need CAP_SYS_RESOURCE).
    @Test(.enabled(if: Tools.isRoot, "needs root to start the agent as another user with an ambient capability"),
          .timeLimit(.minutes(4)))
    func asTheUnitRunsItUnprivilegedUserWithAmbientCapNetRaw() throws {
        let agent = try RunningAgent(config: Self.config, launcher: [
            "/usr/bin/prlimit", "--memlock=4194304:4194304",
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=+net_raw", "--ambient-caps=+net_raw", "--bounding-set=-all,+net_raw", "--no-new-privs",
        ]) { agent in
            chmod(agent.dir.path, 0o777) // the status file and the spill log belong to nobody
            return []
        }
        let probed = agent.waitForStatus(timeout: 20) { s in
            s.monitor("icmp")?.targets.allSatisfy { ($0.record?.ok ?? 0) >= 2 } == true
        }
        #expect(probed?.engine.capabilitiesDropped == true, "raw ICMP as nobody with CAP_NET_RAW; log:\n\(agent.log)")
        #expect(agent.log.contains("icmp4=raw icmp6=raw"), "raw sockets, not the datagram fallback")
        for t in try ThreadCapabilities.read(pid: agent.pid) {
            #expect(t.sets == ThreadCapabilities.empty, "thread \(t.tid) (\(t.name)): \(t.sets)")
        }
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    /// The reader above is not blind: a root process that keeps its capabilities shows them.
    @Test(.enabled(if: Tools.isRoot, "a root child is what holds capabilities"))
    func theReaderSeesCapabilitiesWhereTheyAreHeld() throws {
        let sleeper = try ChildProcess(["/bin/sleep", "30"])
        defer { sleeper.signal(SIGKILL); _ = sleeper.wait(timeout: 5) }
        let threads = try ThreadCapabilities.read(pid: sleeper.pid)
        #expect(threads.count == 1)
        #expect(threads.first?.sets["CapEff"] != ThreadCapabilities.empty["CapEff"])
        #expect(threads.first?.sets["CapPrm"] != ThreadCapabilities.empty["CapPrm"])
    }
}

/// Capability sets of every thread of a process, from /proc/PID/task/TID/status.
struct ThreadCapabilities {
    static let fields = ["CapInh", "CapPrm", "CapEff", "CapAmb"]
    static let empty = Dictionary(uniqueKeysWithValues: fields.map { ($0, "0000000000000000") })

    var tid: String
    var name: String
    var sets: [String: String]

    static func read(pid: pid_t) throws -> [ThreadCapabilities] {
        let tasks = "/proc/\(pid)/task"
        // A thread that ends between the listing and the read is skipped.
        return try FileManager.default.contentsOfDirectory(atPath: tasks).sorted().compactMap { tid in
            guard let text = try? String(contentsOfFile: "\(tasks)/\(tid)/status", encoding: .utf8) else { return nil }
            var name = "?", sets: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if parts[0] == "Name" { name = parts[1] }
                if fields.contains(parts[0]) { sets[parts[0]] = parts[1] }
            }
            return ThreadCapabilities(tid: tid, name: name, sets: sets)
        }
    }
}

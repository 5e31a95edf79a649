import Foundation
import TestSupport
import Testing

/// Started as root by hand (no systemd), the agent opens its raw sockets, then becomes the user
/// it is told to, for good; told nothing, it refuses to stay root. Uses the host's existing
/// `nobody` (65534) and `nogroup` (65534); the host's accounts are not changed.
@Suite("probe-agent started as root switches user", .serialized)
struct UserSwitchTests {
    static let nobody: UInt32 = 65534

    /// Raw ICMP to loopback, remote write to a closed loopback port (so the spill log, created
    /// by the shipper thread, is written as the user), the admin socket in a directory that
    /// does not exist yet.
    static let config = """
        monitors:
          - id: lo
            protocol: icmp
            cadence: 500ms
            timeout: 200ms
            targets: [127.0.0.1, "::1"]
        spill:
          dir: $DIR/state/spill
        remote_write:
          url: http://127.0.0.1:9/api/v1/write
          flush_interval: 100ms
        admin:
          socket: $DIR/run/admin.sock
        """

    /// `Uid:`/`Gid:` (real, effective, saved, file system) and the capability sets of every
    /// thread of `pid`, from /proc.
    static func threadCredentials(_ pid: pid_t) throws -> [(name: String, fields: [String: String])] {
        let tasks = "/proc/\(pid)/task"
        return try FileManager.default.contentsOfDirectory(atPath: tasks).sorted().compactMap { tid in
            guard let text = try? String(contentsOfFile: "\(tasks)/\(tid)/status", encoding: .utf8) else { return nil }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2 { fields[parts[0]] = parts[1].split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            }
            return (fields["Name"] ?? tid, fields)
        }
    }

    static func owner(_ path: String) -> (uid: UInt32, gid: UInt32)? {
        var st = stat()
        return stat(path, &st) == 0 ? (st.st_uid, st.st_gid) : nil
    }

    @Test(.enabled(if: Tools.isRoot, "starts the agent as root"), .timeLimit(.minutes(4)))
    func asRootWithUserNobodyItProbesAsNobodyWithNoCapabilities() throws {
        let agent = try RunningAgent(config: Self.config, arguments: ["--user", "nobody"]) { agent in
            chmod(agent.dir.path, 0o777) // the status file's directory: the test's, not the agent's to hand over
            return []
        }
        let probed = agent.waitForStatus(timeout: 20) { s in
            s.monitor("lo")?.targets.allSatisfy { ($0.record?.ok ?? 0) >= 2 } == true
        }
        let status = try #require(probed, "raw ICMP as nobody after the switch; log:\n\(agent.log)")
        #expect(status.engine.capabilitiesDropped)
        #expect(agent.log.contains("icmp4=raw icmp6=raw"), "raw sockets, opened before the switch: \(agent.log)")
        #expect(agent.log.contains("running as nobody:nogroup (uid 65534, gid 65534); root cannot be regained"), "\(agent.log)")

        let threads = try Self.threadCredentials(agent.pid)
        #expect(threads.count >= 3, "\(threads.map(\.name))")
        for (name, fields) in threads {
            #expect(fields["Uid"] == "65534 65534 65534 65534", "\(name): \(fields["Uid"] ?? "?")")
            #expect(fields["Gid"] == "65534 65534 65534 65534", "\(name): \(fields["Gid"] ?? "?")")
            #expect(fields["Groups"] == "", "\(name): supplementary groups \(fields["Groups"] ?? "?")")
            for set in ["CapEff", "CapPrm", "CapAmb", "CapInh"] {
                #expect(fields[set] == "0000000000000000", "\(name) \(set): \(fields[set] ?? "?")")
            }
        }
        // What it made as root for the user, and what the user wrote.
        #expect(Self.owner(agent.dir.appendingPathComponent("state").path)?.uid == Self.nobody)
        #expect(Self.owner(agent.dir.appendingPathComponent("state/spill").path)?.uid == Self.nobody)
        #expect(Self.owner(agent.dir.appendingPathComponent("run").path)?.uid == Self.nobody)
        #expect(Self.owner(agent.socketPath)?.uid == Self.nobody)
        #expect(Self.owner(agent.statusURL.path)?.uid == Self.nobody)
        let segments = try FileManager.default.contentsOfDirectory(atPath: agent.dir.appendingPathComponent("state/spill").path)
        #expect(!segments.isEmpty, "the shipper wrote its log as nobody")

        // The admin API answers over the socket nobody created, and probing goes on.
        #expect(try agent.agentctl(["status"]).status == 0)
        let sent = status.sent("lo")
        #expect(agent.waitForStatus(timeout: 10) { $0.sent("lo") >= sent + 4 } != nil)

        // A reload cannot change who it runs as: the new process section waits for a restart.
        try agent.rewriteConfig(Self.config.replacingOccurrences(of: "$DIR", with: agent.dir.path) + "\nprocess:\n  user: root\n")
        let reply = try agent.agentctl(["reload"])
        #expect(reply.status == 0, "\(reply.stdout)\(reply.stderr)")
        #expect(agent.waitForLog("process changes take effect at the next restart", timeout: 5), "\(agent.log)")
        #expect(try Self.threadCredentials(agent.pid).allSatisfy { $0.fields["Uid"] == "65534 65534 65534 65534" })
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    @Test(.enabled(if: Tools.isRoot, "starts the agent as root"), .timeLimit(.minutes(1)))
    func asRootWithNoUserItRefusesToStartSayingWhatToSet() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("agent.yaml")
        try "monitors: [{id: lo, protocol: icmp, targets: [127.0.0.1]}]\n".write(to: config, atomically: true, encoding: .utf8)
        let out = try Tools.run([Tools.probeAgent, "--config", config.path], timeout: 20)
        #expect(out.status == 1)
        #expect(out.stderr == """
            probe-agent: started as root with no user to switch to: set process.user in the config or pass --user \
            (the agent opens its raw sockets as root, then runs as that user), or set process.run_as_root: true \
            (or pass --run-as-root) to stay uid 0 with every capability dropped; not starting

            """, "\(out.stderr)")

        let unknown = try Tools.run([Tools.probeAgent, "--config", config.path, "--user", "no-such-user-\(getpid())"], timeout: 20)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown user 'no-such-user-\(getpid())'"), "\(unknown.stderr)")
    }

    /// The user cannot write where the status file goes: refused before anything starts, naming
    /// the directory and the fix.
    @Test(.enabled(if: Tools.isRoot, "starts the agent as root"), .timeLimit(.minutes(1)))
    func asRootItRefusesWhenTheUserCouldNotWriteItsFiles() throws {
        let agent = try RunningAgent(config: Self.config, arguments: ["--user", "nobody"])
        let status = agent.process.wait(timeout: 20)
        #expect(status == 3, "log:\n\(agent.log)")
        #expect(agent.log.contains("not starting: the status file's directory \(agent.dir.path) is not writable by nobody (Permission denied); chown it to nobody:nogroup or choose another path"), "\(agent.log)")
    }
}

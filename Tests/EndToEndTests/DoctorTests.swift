import Foundation
import Testing

/// `agentctl doctor` against real files, sockets and the real kernel.
@Suite("agentctl doctor")
struct DoctorTests {
    struct Row: Decodable, Equatable { var check: String; var status: String; var detail: String; var hint: String? }

    static let checks = ["config", "agent cap_net_raw", "cap_net_raw", "io_uring sysctl", "io_uring", "kernel",
                         "ping_group_range", "admin socket"]

    /// A temp dir with a valid config whose admin.socket is `<dir>/admin.sock`.
    final class Scratch {
        let dir: URL
        var socket: String { dir.appendingPathComponent("admin.sock").path }
        var config: String { dir.appendingPathComponent("agent.yaml").path }

        init(config text: String? = nil) throws {
            dir = URL(fileURLWithPath: "/tmp/doctor-\(UUID().uuidString.prefix(8))") // short: sun_path holds 108 bytes
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try (text ?? """
                monitors:
                  - id: lo
                    protocol: icmp
                    targets: [127.0.0.1, "::1"]
                admin:
                  socket: \(socket)
                """).write(toFile: config, atomically: true, encoding: .utf8)
        }

        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    private func doctor(_ args: [String], env: [String] = []) throws -> Tools.Output {
        try Tools.run(["/usr/bin/env"] + env + [Tools.agentctl, "doctor", "--agent-binary", Tools.probeAgent] + args, timeout: 30)
    }

    private func rows(_ out: Tools.Output) throws -> [Row] {
        try JSONDecoder().decode([Row].self, from: Data(out.stdout.utf8))
    }

    @Test func agentNotRunningIsAFailureWithAHint() throws {
        let scratch = try Scratch()
        let out = try doctor(["--config", scratch.config])
        #expect(out.status == 1, "\(out.stdout)\n\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("OK    config") && $0.contains("1 monitors, 2 targets") }, "\(out.stdout)")
        let row = try #require(lines.firstIndex { $0.hasPrefix("FAIL  admin socket") }, "\(out.stdout)")
        #expect(lines[row].contains("\(scratch.socket): no such socket: the agent is not running"))
        #expect(lines[row + 1].trimmingCharacters(in: .whitespaces).hasPrefix("fix: is the agent running?"))
        // Rows are aligned: status in 6 columns, check names padded to the longest plus two.
        let detailColumn = 6 + Self.checks.map(\.count).max()! + 2
        let rows = lines.filter { $0.hasPrefix("OK ") || $0.hasPrefix("WARN ") || $0.hasPrefix("FAIL ") }
        #expect(rows.count == Self.checks.count, "\(out.stdout)")
        for line in rows {
            let chars = Array(line)
            #expect(chars.count > detailColumn && chars[detailColumn - 1] == " " && chars[detailColumn] != " ", "\(line)")
        }
    }

    @Test func invalidConfigFailsNamingFileLineColumn() throws {
        let scratch = try Scratch(config: "monitors:\n  - id: x\n    protocol: icmp\n    cadense: 3s\n    targets: [127.0.0.1]\n")
        let out = try doctor(["--config", scratch.config, "--json"])
        #expect(out.status == 1)
        let config = try #require(try rows(out).first { $0.check == "config" })
        #expect(config.status == "FAIL")
        #expect(config.detail.contains("\(scratch.config):4:5: error:"), "\(config.detail)")
        #expect(config.hint?.contains("agentctl config check \(scratch.config)") == true)
        // Without a config the socket falls back to the built-in default path.
        let socket = try #require(try rows(out).first { $0.check == "admin socket" })
        #expect(socket.detail.hasPrefix("/run/probe-agent/admin.sock:"), "\(socket.detail)")
    }

    @Test func missingConfigAndAgentBinaryFail() throws {
        let out = try Tools.run([Tools.agentctl, "doctor", "--json", "--config", "/nonexistent/agent.yaml",
                                 "--agent-binary", "/nonexistent/probe-agent", "--socket", "/nonexistent/admin.sock"])
        #expect(out.status == 1)
        let rows = try rows(out)
        #expect(rows.first { $0.check == "config" }?.detail == "/nonexistent/agent.yaml: cannot read: No such file or directory")
        #expect(rows.first { $0.check == "agent cap_net_raw" }?.status == "FAIL")
        #expect(rows.first { $0.check == "admin socket" }?.status == "FAIL")
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/setcap"),
                   "needs root and setcap (libcap2-bin) to set a file capability"))
    func agentBinaryWithFileCapabilityIsOK() throws {
        let scratch = try Scratch()
        let copy = scratch.dir.appendingPathComponent("probe-agent").path
        try FileManager.default.copyItem(atPath: Tools.probeAgent, toPath: copy)
        let before = try rows(try doctor(["--config", scratch.config, "--json", "--agent-binary", copy]))
        #expect(before.first { $0.check == "agent cap_net_raw" }?.status == "WARN")
        let setcap = try Tools.run(["/usr/sbin/setcap", "cap_net_raw+ep", copy])
        try #require(setcap.status == 0, "\(setcap.stderr)")
        let after = try rows(try doctor(["--config", scratch.config, "--json", "--agent-binary", copy]))
        #expect(after.first { $0.check == "agent cap_net_raw" } == Row(
            check: "agent cap_net_raw", status: "OK", detail: "\(copy): file capability cap_net_raw permitted", hint: nil))
    }

    @Test func jsonHasEveryCheckWithHintsOnlyWhereSomethingIsWrong() throws {
        let scratch = try Scratch()
        let out = try doctor(["--config", scratch.config, "--json"])
        let rows = try rows(out)
        #expect(rows.map(\.check) == Self.checks)
        #expect(rows.allSatisfy { ["OK", "WARN", "FAIL"].contains($0.status) && !$0.detail.isEmpty })
        #expect(rows.allSatisfy { ($0.status == "OK") == ($0.hint == nil) }, "\(rows)")
        #expect(out.status == (rows.contains { $0.status == "FAIL" } ? 1 : 0))
        // This machine runs the engine (CI: root, Linux 6.x): its own checks must agree.
        if Tools.isRoot {
            #expect(rows.first { $0.check == "cap_net_raw" }?.status == "OK")
            #expect(rows.first { $0.check == "io_uring" }?.status == "OK", "\(rows)")
        }
    }

    /// A listening AF_UNIX stream socket made by the test stands in for the agent's admin
    /// socket, for the doctor's connect(2) only (no agent to start).
    @Test func adminSocketReachable_standInListener() throws {
        let scratch = try Scratch()
        let listener = try UnixListener(path: scratch.socket)
        let out = try doctor(["--config", scratch.config, "--json"])
        let row = try #require(try rows(out).first { $0.check == "admin socket" })
        #expect(row.status == "OK", "\(row)")
        #expect(row.detail == "\(scratch.socket): the agent accepts connections")
        #expect(row.hint == nil)
        withExtendedLifetime(listener) {}
    }

    @Test func environmentSocketOverridesTheConfigAndStaleSocketsAreNamed() throws {
        let scratch = try Scratch()
        let other = scratch.dir.appendingPathComponent("other.sock").path
        let listener = try UnixListener(path: other)
        let viaEnv = try rows(try doctor(["--config", scratch.config, "--json"], env: ["PROBE_AGENT_SOCKET=\(other)"]))
        #expect(viaEnv.first { $0.check == "admin socket" }?.detail == "\(other): the agent accepts connections")
        // --socket wins over the environment.
        let viaFlag = try rows(try doctor(["--config", scratch.config, "--json", "--socket", scratch.socket],
                                          env: ["PROBE_AGENT_SOCKET=\(other)"]))
        #expect(viaFlag.first { $0.check == "admin socket" }?.detail.hasPrefix("\(scratch.socket): no such socket") == true)
        // The agent died and left its socket file behind: connection refused, not "not running".
        listener.closeLeavingFile()
        let stale = try rows(try doctor(["--config", scratch.config, "--json", "--socket", other]))
        let row = try #require(stale.first { $0.check == "admin socket" })
        #expect(row.status == "FAIL" && row.detail.contains("nothing listens (a stale socket"), "\(row)")
        #expect(row.hint?.contains("systemctl restart probe-agent") == true)
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to run the doctor as another user (setpriv)"))
    func permissionDeniedIsToldApartFromNotRunning() throws {
        let scratch = try Scratch()
        let listener = try UnixListener(path: scratch.socket)
        chmod(scratch.socket, 0o600) // root's socket; nobody may not connect
        chmod(scratch.dir.path, 0o755)
        chmod(scratch.config, 0o644)
        let out = try Tools.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 Tools.agentctl, "doctor", "--json", "--config", scratch.config,
                                 "--agent-binary", Tools.probeAgent], timeout: 30)
        let rows = try rows(out)
        let row = try #require(rows.first { $0.check == "admin socket" }, "\(out.stdout)\n\(out.stderr)")
        #expect(row.status == "FAIL" && row.detail == "\(scratch.socket): permission denied", "\(row)")
        #expect(row.hint?.contains("ls -l \(scratch.socket)") == true)
        #expect(rows.first { $0.check == "cap_net_raw" }?.status == "WARN", "nobody has no CAP_NET_RAW")
        #expect(out.status == 1)
        withExtendedLifetime(listener) {}
    }

    /// With the real agent running on the same config: everything it needs is there, and its
    /// admin socket answers.
    @Test(.enabled(if: Tools.isRoot, "the agent needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func besideARunningAgent() throws {
        let scratch = try Scratch()
        let agent = try RunningAgent(config: try String(contentsOfFile: scratch.config, encoding: .utf8))
        defer { _ = agent.stop() }
        #expect(agent.waitForStatus(timeout: 15) { $0.sent("lo") >= 2 } != nil, "log:\n\(agent.log)")
        let out = try doctor(["--config", agent.configURL.path, "--json"])
        let rows = try rows(out)
        #expect(rows.first { $0.check == "config" }?.status == "OK")
        #expect(rows.first { $0.check == "admin socket" } == Row(
            check: "admin socket", status: "OK", detail: "\(scratch.socket): the agent accepts connections", hint: nil))
    }
}

/// A listening AF_UNIX stream socket, standing in for the agent's admin socket.
final class UnixListener {
    private var fd: Int32
    let path: String
    private var unlinkOnClose = true

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 8) == 0 else {
            throw NSError(domain: "UnixListener", code: Int(errno),
                          userInfo: [NSLocalizedDescriptionKey: "listen on \(path): \(String(cString: strerror(errno)))"])
        }
    }

    /// Stops listening but leaves the socket file, as a crashed server does.
    func closeLeavingFile() {
        unlinkOnClose = false
        close(fd)
        fd = -1
    }

    deinit {
        if fd >= 0 { close(fd) }
        if unlinkOnClose { unlink(path) }
    }
}

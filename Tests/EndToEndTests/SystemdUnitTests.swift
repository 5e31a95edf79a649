import Foundation
import Testing

/// config/probe-agent.service: valid for systemd, and as tight as it claims.
@Suite("systemd unit")
struct SystemdUnitTests {
    static let unitURL = Tools.root.appendingPathComponent("config/probe-agent.service")
    static let analyzer = "/usr/bin/systemd-analyze" // Debian package `systemd` (scripts/install-deps.sh)
    static var hasAnalyzer: Bool { FileManager.default.isExecutableFile(atPath: analyzer) }

    /// The unit with ExecStart pointing at the built binary and a temp config, in a temp dir
    /// (`verify` checks that the ExecStart binary exists and is executable).
    private func localCopy(_ edit: (String) -> String = { $0 }) throws -> (dir: URL, unit: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("agent.yaml")
        try FileManager.default.copyItem(at: Tools.root.appendingPathComponent("config/agent.yaml"), to: config)
        let text = try String(contentsOf: Self.unitURL, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/probe-agent", with: Tools.probeAgent)
            .replacingOccurrences(of: "/etc/probe-agent/agent.yaml", with: config.path)
        let unit = dir.appendingPathComponent("probe-agent.service")
        try edit(text).write(to: unit, atomically: true, encoding: .utf8)
        return (dir, unit)
    }

    @Test(.enabled(if: hasAnalyzer, "systemd-analyze is missing: scripts/install-deps.sh installs it (package systemd)"))
    func verifiesCleanly() throws {
        let (dir, unit) = try localCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try Tools.run([Self.analyzer, "verify", unit.path], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        // Unknown keys and bad values are only warnings for `verify`: none may appear.
        let about = out.stderr.split(separator: "\n").filter { $0.contains(unit.lastPathComponent) }
        #expect(about.isEmpty, "\(about)")
    }

    @Test(.enabled(if: hasAnalyzer, "systemd-analyze is missing: scripts/install-deps.sh installs it (package systemd)"))
    func verifyCatchesAMissingBinaryAndUnknownKeys() throws {
        // The check above is not vacuous: the same run fails and warns on a broken copy.
        let (dir, unit) = try localCopy {
            $0.replacingOccurrences(of: Tools.probeAgent, with: "/nonexistent/probe-agent")
                .replacingOccurrences(of: "NoNewPrivileges=yes", with: "NoNewPrivileges=yes\nNoNewPrivilege=yes")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try Tools.run([Self.analyzer, "verify", unit.path], timeout: 60)
        #expect(out.status != 0)
        #expect(out.stderr.contains("/nonexistent/probe-agent"), "\(out.stderr)")
        #expect(out.stderr.contains("Unknown key"), "\(out.stderr)")
    }

    @Test(.enabled(if: hasAnalyzer, "systemd-analyze is missing: scripts/install-deps.sh installs it (package systemd)"))
    func sandboxExposureIsLow() throws {
        let (dir, unit) = try localCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        // systemd's own score, 0 (locked down) … 10 (exposed); 2.0 is its "OK" band.
        let out = try Tools.run([Self.analyzer, "security", "--offline=true", "--threshold=20", "--no-pager", unit.path], timeout: 60)
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        let score = out.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") }
        #expect(score?.contains(" OK ") == true, "\(score ?? "no score")")
    }

    /// The settings the agent depends on, read back from the unit file itself.
    @Test func declaresWhatTheAgentNeeds() throws {
        let settings = try String(contentsOf: Self.unitURL, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") && $0.contains("=") }
            .map { line -> (String, String) in
                let eq = line.firstIndex(of: "=")!
                return (String(line[..<eq]), String(line[line.index(after: eq)...]))
            }
        func values(_ key: String) -> [String] { settings.filter { $0.0 == key }.map(\.1) }
        #expect(values("Type") == ["notify"])
        #expect(values("ExecStart") == ["/usr/local/bin/probe-agent --config /etc/probe-agent/agent.yaml"])
        #expect(values("ExecReload") == ["/bin/kill -HUP $MAINPID"])
        #expect(values("AmbientCapabilities") == ["CAP_NET_RAW"])
        #expect(values("CapabilityBoundingSet") == ["CAP_NET_RAW"])
        #expect(values("StateDirectory") == ["probe-agent"])  // spill.dir default /var/lib/probe-agent/spill
        #expect(values("RuntimeDirectory") == ["probe-agent"]) // admin.socket default /run/probe-agent/admin.sock
        #expect(values("WatchdogSec").count == 1)
        // The engine cannot start without io_uring: named explicitly, not left to @system-service.
        let syscalls = Set(values("SystemCallFilter").flatMap { $0.split(separator: " ").map(String.init) })
        #expect(syscalls.isSuperset(of: ["@system-service", "io_uring_setup", "io_uring_enter", "io_uring_register"]))
        #expect(!syscalls.contains { $0.hasPrefix("~") }, "a deny list would also block capset, which the drop needs")
    }
}

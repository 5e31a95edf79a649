import AdminAPI
import Foundation
import TestSupport
import Testing

/// The binaries in the .deb need no Swift toolchain: they run in a mount namespace where the
/// toolchain's directory is an empty tmpfs and LD_LIBRARY_PATH is empty, as on a fleet host.
@Suite(
    "Packaged binaries without the Swift toolchain",
    .enabled(if: PackageBuild.toolsInstalled, "dpkg-dev or help2man missing: scripts/install-deps.sh"),
    .enabled(if: Tools.isRoot, "needs root: a mount namespace hides the toolchain, raw ICMP needs CAP_NET_RAW"))
struct PackagedBinariesTests {
    /// The toolchain the development build runs from: the directory above `usr/lib/swift`
    /// holding the libswiftCore.so that `ldd` finds for it (/opt/swift here).
    static func toolchainRoot() throws -> String {
        let ldd = try Tools.run(["ldd", Tools.probeAgent])
        let line = try #require(ldd.stdout.split(separator: "\n").first { $0.contains("libswiftCore.so") },
                                "the debug build does not link libswiftCore.so dynamically: \(ldd.stdout)")
        let path = try #require(line.split(separator: " ").first { $0.hasPrefix("/") }.map(String.init))
        let root = try #require(path.range(of: "/usr/lib/swift/").map { String(path[..<$0.lowerBound]) })
        #expect(root.count > 1, "toolchain root '\(root)'")
        return root
    }

    /// `ARGS` with the toolchain hidden: a private mount namespace with an empty read-only tmpfs
    /// over it, and LD_LIBRARY_PATH empty. `unshare` and `sh` exec, so the PID is the command's.
    static func hidden(_ toolchain: String, _ args: [String]) -> [String] {
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
         "mount -t tmpfs -o ro,size=1m tmpfs \"$0\" && exec env LD_LIBRARY_PATH= \"$@\"", toolchain] + args
    }

    @Test("ldd: only Debian libraries, nothing from the toolchain", .timeLimit(.minutes(50)))
    func linksNoSwiftRuntime() async throws {
        let built = try await PackageBuild.deb.value
        let dir = try PackageBuild.unpacked(built)
        defer { try? FileManager.default.removeItem(at: dir) }
        let toolchain = try Self.toolchainRoot()
        for name in ["probe-agent", "agentctl"] {
            let binary = dir.appendingPathComponent("usr/bin/\(name)").path
            // With the toolchain in view, nothing resolves to it either.
            for (label, command) in [("visible", ["ldd", binary]), ("hidden", Self.hidden(toolchain, ["ldd", binary]))] {
                let ldd = try Tools.run(command)
                #expect(ldd.status == 0, "\(label) ldd \(name): \(ldd.stderr)")
                let libs = ldd.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(libs.contains { $0.hasPrefix("libc.so.6") }, "\(label) \(name): \(ldd.stdout)")
                for lib in libs {
                    #expect(!lib.contains("not found"), "\(label) \(name): \(lib)")
                    #expect(!lib.contains(toolchain + "/"), "\(label) \(name): \(lib)")
                    for swift in ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "lib_Foundation"] {
                        #expect(!lib.hasPrefix(swift), "\(label) \(name): \(lib)")
                    }
                }
            }
        }
    }

    @Test("--version, agentctl doctor and 10 s of probing on loopback", .timeLimit(.minutes(50)))
    func runsWithToolchainHidden() async throws {
        let built = try await PackageBuild.deb.value
        let dir = try PackageBuild.unpacked(built)
        defer { try? FileManager.default.removeItem(at: dir) }
        let toolchain = try Self.toolchainRoot()
        let agent = dir.appendingPathComponent("usr/bin/probe-agent").path
        let agentctl = dir.appendingPathComponent("usr/bin/agentctl").path

        // The mask works: the toolchain looks empty and the development build cannot start.
        let listing = try Tools.run(Self.hidden(toolchain, ["ls", "-A", toolchain]))
        #expect(listing.status == 0 && listing.stdout.isEmpty, "ls \(toolchain): \(listing.stdout)\(listing.stderr)")
        let devBuild = try Tools.run(Self.hidden(toolchain, [Tools.probeAgent, "--version"]))
        #expect(devBuild.status != 0 && devBuild.stderr.contains("libswift"), "debug build, toolchain hidden: \(devBuild)")

        for binary in [agent, agentctl] {
            let v = try Tools.run(Self.hidden(toolchain, [binary, "--version"]))
            #expect(v.status == 0, "\(binary) --version: \(v.stderr)")
            #expect(v.stdout == "\(AgentVersion.current)\n", "\(binary) --version")
        }
        #expect(built.version == AgentVersion.current)

        let run = try PackagedAgentRun(agent: agent, launcher: Self.hidden(toolchain, []))
        defer { run.finish() }
        // From here on the test blocks its thread (no await): a suspended test on a busy 2-core
        // machine was once resumed only after its deadline had passed (CI, 13:16 on 2026-12-06).
        let address = try #require(run.waitForHTTP(seconds: 30), "no HTTP listener; log:\n\(run.log)")
        let started = ContinuousClock.now

        // While it probes: doctor, status and /metrics, each with the toolchain hidden.
        let doctor = try Tools.run(Self.hidden(toolchain, [agentctl, "doctor", "--json", "--config", run.config,
                                                           "--agent-binary", agent]))
        let rows = try JSONDecoder().decode([DoctorTests.Row].self, from: Data(doctor.stdout.utf8))
        for check in ["config", "io_uring", "kernel", "admin socket"] {
            let row = try #require(rows.first { $0.check == check }, "doctor: no \(check) row: \(doctor.stdout)")
            #expect(row.status == "OK", "doctor \(check): \(row)")
        }
        let status = try Tools.run(Self.hidden(toolchain, [agentctl, "status", "--socket", run.socket]))
        #expect(status.status == 0 && status.stdout.contains("probe-agent \(AgentVersion.current)"), "\(status)")
        let metrics = try Tools.run(Self.hidden(toolchain, ["curl", "-fsS", "http://\(address)/metrics"]))
        #expect(metrics.stdout.contains("probeagent_build_info{version=\"\(built.version)\"} 1"), "\(metrics.stderr)")

        let tenSeconds = started.advanced(by: .seconds(10))
        let left = tenSeconds - ContinuousClock.now
        if left > .zero { usleep(UInt32(left.components.seconds) * 1_000_000 + UInt32(left.components.attoseconds / 1_000_000_000_000)) }
        let snapshot = try #require(run.waitForStatus(seconds: 5) { $0.engine.completed >= 3 * 9 }, "log:\n\(run.log)")
        for monitor in snapshot.monitors ?? [] {
            for target in monitor.targets {
                let r = try #require(target.record, "\(monitor.id) \(target.target): no results")
                #expect(r.sent >= 8, "\(monitor.id) \(target.target): \(r)")
                // ICMP to loopback answers; the closed port answers with a RST.
                #expect((monitor.id == "lo-icmp" ? r.ok : r.refused) >= 8, "\(monitor.id) \(target.target): \(r)")
            }
        }
        #expect(snapshot.engine.capabilitiesDropped)
        #expect(run.stop() == 0, "exit status; log:\n\(run.log)")
    }
}

/// The packaged probe-agent, started through a launcher, with its config, status file and admin
/// socket in a temp dir (short: a socket path holds 107 bytes).
final class PackagedAgentRun {
    /// Loopback only, a probe a second per target: echo replies, and a closed port's RST.
    static let monitors = """
        log_level: info
        monitors:
          - id: lo-icmp
            protocol: icmp
            cadence: 1s
            timeout: 500ms
            targets: [127.0.0.1, "::1"]
          - id: lo-closed
            protocol: tcp-syn
            port: 9
            cadence: 1s
            timeout: 500ms
            targets: [127.0.0.1]
        """

    let dir: String, config: String, socket: String, statusFile: String, logFile: String
    private let process: ChildProcess

    init(agent: String, launcher: [String]) throws {
        let dir = "/tmp/pkgrun-\(UUID().uuidString.prefix(8))"
        let socket = dir + "/admin.sock", config = dir + "/agent.yaml"
        (self.dir, self.config, self.socket, statusFile, logFile) = (dir, config, socket, dir + "/status.json", dir + "/agent.log")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            \(Self.monitors)
            http:
              listen: 127.0.0.1:0
            admin:
              socket: \(socket)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        // Root, as the tests run: stay uid 0 (capabilities are dropped all the same).
        process = try ChildProcess(launcher + [agent, "--config", config, "--status-file", statusFile,
                                               "--status-interval", "1s", "--run-as-root"], output: logFile)
    }

    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// host:port of the HTTP listener once it listens and the admin socket exists.
    func waitForHTTP(seconds: Int) -> String? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        repeat {
            if let r = log.range(of: "on http://"), FileManager.default.fileExists(atPath: socket) {
                return String(log[r.upperBound...].prefix { !$0.isWhitespace })
            }
            usleep(100_000)
        } while ContinuousClock.now < deadline && process.isRunning
        return nil
    }

    func waitForStatus(seconds: Int, _ ready: (AgentStatus) -> Bool) -> AgentStatus? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        repeat {
            if let data = FileManager.default.contents(atPath: statusFile),
               let s = try? JSONDecoder.admin.decode(AgentStatus.self, from: data), ready(s) { return s }
            usleep(200_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// SIGTERM; the exit status, or nil if it had to be killed.
    func stop() -> Int32? {
        process.signal(SIGTERM)
        if let status = process.wait(timeout: 15) { return status }
        process.signal(SIGKILL)
        _ = process.wait(timeout: 5)
        return nil
    }

    func finish() {
        if process.isRunning { _ = stop() }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

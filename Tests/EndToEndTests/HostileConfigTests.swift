import Foundation
import TestSupport
import Testing

/// Config files built to hurt the loader (5,000 and 20,000 nested lists, a billion laughs, 50 MB), through
/// `agentctl config check` and through a running agent's reloads, and a config written in place
/// in two halves: refused fast with the limit named, never a crash, probing goes on.
@Suite("hostile config files", .serialized)
struct HostileConfigTests {
    /// Each hostile file, and what its refusal must say.
    static let cases: [(name: String, expected: String)] = [
        ("deep.yaml", ":2:67: error: lists and mappings nest deeper than 64 levels here (the limit for config files)"),
        ("deeper.yaml", ":2:67: error: lists and mappings nest deeper than 64 levels here (the limit for config files)"),
        ("laughs.yaml", ":6:45: error: aliases stand for more than 1000000 nodes in all (the limit for config files)"),
        ("big.yaml", ":0:0: error: config file is 52428800 bytes, over the limit for config files of 16 MiB (16777216 bytes)"),
    ]

    /// Writes the three hostile files into `dir`.
    static func writeHostileFiles(into dir: URL) throws {
        try HostileConfigs.nestedLists(5000).write(to: dir.appendingPathComponent("deep.yaml"), atomically: true, encoding: .utf8)
        // 20,000 levels: what crashed the agent's reload (SIGSEGV) on this machine before the limits.
        try HostileConfigs.nestedLists(20_000).write(to: dir.appendingPathComponent("deeper.yaml"), atomically: true, encoding: .utf8)
        try HostileConfigs.billionLaughs.write(to: dir.appendingPathComponent("laughs.yaml"), atomically: true, encoding: .utf8)
        try HostileConfigs.writeSparse(dir.appendingPathComponent("big.yaml").path, bytes: 50 << 20)
    }

    @Test func configCheckRefusesEachInUnderASecondNamingTheLimit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeHostileFiles(into: dir)
        for (name, expected) in Self.cases {
            let path = dir.appendingPathComponent(name).path
            var out = Tools.Output(status: -1, stdout: "", stderr: "")
            // The faster of two runs: the bound is the refusal's, and a loaded two-core machine can
            // hold up one process start for longer than that by itself.
            var elapsed = Double.infinity
            for _ in 0..<2 where elapsed >= 1 {
                elapsed = min(elapsed, try HostileConfigs.seconds { out = try Tools.run([Tools.agentctl, "config", "check", path], timeout: 20) })
            }
            #expect(out.status == 1, "\(name): exit \(out.status), not a crash (139 is SIGSEGV): \(out.stderr)")
            #expect(out.stderr.hasPrefix(path + expected), "\(name): \(out.stderr)")
            #expect(out.stderr.hasSuffix("\(path): 1 error\n"), "\(out.stderr)")
            #expect(elapsed < 1, "\(name): \(elapsed) s, process start included")
        }
    }

    static let goodConfig = """
        monitors:
          - id: lo
            protocol: icmp
            cadence: 500ms
            timeout: 200ms
            targets: [127.0.0.1]
        """

    /// Replaces the agent's config file by a rename, the way a deploy tool does.
    static func replaceConfig(of agent: RunningAgent, with source: URL) throws {
        let staged = agent.dir.appendingPathComponent("staged.yaml")
        try? FileManager.default.removeItem(at: staged)
        try FileManager.default.copyItem(at: source, to: staged)
        #expect(rename(staged.path, agent.configURL.path) == 0)
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func aRunningAgentRefusesEachOnReloadAndKeepsProbing() throws {
        let agent = try RunningAgent(config: Self.goodConfig)
        let files = agent.dir.appendingPathComponent("hostile")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        try Self.writeHostileFiles(into: files)
        let started = try #require(agent.waitForStatus(timeout: 20) { ($0.monitor("lo")?.targets.first?.record?.ok ?? 0) >= 2 },
                                   "log:\n\(agent.log)")
        let hash = started.monitor("lo")?.configHash
        #expect(agent.waitForListeners() != nil)

        // First the way the crash came: the file changes on disk and the agent's own poll reads it.
        try Self.replaceConfig(of: agent, with: files.appendingPathComponent("deeper.yaml"))
        let polled = try #require(agent.waitForStatus(timeout: 15) { $0.reloads.failed >= 1 }, "log:\n\(agent.log)")
        #expect(polled.reloads.lastError?.contains("nest deeper than 64 levels") == true, "\(polled.reloads.lastError ?? "nil")")

        // Then each file by `agentctl reload`, which waits for the outcome: refused in under 1 s.
        for (index, (name, expected)) in Self.cases.enumerated() {
            try Self.replaceConfig(of: agent, with: files.appendingPathComponent(name))
            var out = Tools.Output(status: -1, stdout: "", stderr: "")
            let elapsed = try HostileConfigs.seconds { out = try agent.agentctl(["reload"], timeout: 20) }
            #expect(out.status == 1 && out.stderr.contains("reload refused"), "\(name): \(out.stdout)\(out.stderr)")
            #expect(out.stderr.contains(agent.configURL.path + expected), "\(name): \(out.stderr)")
            #expect(elapsed < 1, "\(name): refused after \(elapsed) s")
            let failed = try #require(agent.waitForStatus(timeout: 5) { $0.reloads.failed >= 2 + index })
            #expect(failed.reloads.succeeded == 0)
        }

        // Still the old config, still probing, the same process.
        let before = try agent.status()
        let later = try #require(agent.waitForStatus(timeout: 10) { $0.sent("lo") >= before.sent("lo") + 4 },
                                 "probing goes on after the refusals; log:\n\(agent.log)")
        #expect(later.monitor("lo")?.configHash == hash)
        #expect(later.monitor("lo")?.targets.first?.record?.lastOutcome == .ok)
        #expect(kill(agent.pid, 0) == 0, "the agent is alive")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    /// Written in place, in two halves with 0.7 s between them: a poll (every 0.5 s) sees the
    /// first half, which is itself a valid config of one monitor, but it does not hold still for
    /// the quiet second, so the agent reads only the whole file: one reload, both monitors.
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func aConfigWrittenInPlaceInTwoHalvesIsAppliedOnlyWhole() throws {
        let agent = try RunningAgent(config: Self.goodConfig)
        #expect(agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 2 } != nil, "log:\n\(agent.log)")
        let address = try #require(agent.waitForListeners())
        let firstHalf = """
            monitors:
              - {id: x, protocol: icmp, cadence: 500ms, timeout: 200ms, targets: [127.0.0.2]}

            """
        let secondHalf = """
              - {id: y, protocol: icmp, cadence: 500ms, timeout: 200ms, targets: [127.0.0.3]}
            http:
              listen: \(address)
            admin:
              socket: \(agent.socketPath)

            """
        let fd = open(agent.configURL.path, O_WRONLY | O_TRUNC)
        try #require(fd >= 0)
        #expect(write(fd, firstHalf, firstHalf.utf8.count) == firstHalf.utf8.count)
        usleep(700_000)
        #expect(write(fd, secondHalf, secondHalf.utf8.count) == secondHalf.utf8.count)
        close(fd)

        let reloaded = try #require(agent.waitForStatus(timeout: 10) { $0.reloads.succeeded >= 1 }, "log:\n\(agent.log)")
        Thread.sleep(forTimeInterval: 2) // a second reload, if any, would come within the quiet period
        let status = try agent.status()
        #expect(status.reloads.succeeded == 1 && status.reloads.failed == 0, "\(status.reloads)")
        #expect(Set(reloaded.reloads.added ?? []) == ["x", "y"], "\(reloaded.reloads)")
        #expect(reloaded.reloads.removed == ["lo"])
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    /// `agentctl monitors --graph` on graphs that config data can make huge: a 40-long depends_on chain is
    /// cut at 32 levels, and a lattice where every level's two monitors depend on both of the
    /// level above (2¹² paths) lists each monitor's children once.
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func theDependencyTreeStaysSmallForDeepAndSharedGraphs() throws {
        var yaml = "monitors:\n"
        func monitor(_ id: String, _ parents: [String]) {
            yaml += "  - {id: \(id), protocol: icmp, cadence: 5s, targets: [127.0.0.1], depends_on: [\(parents.joined(separator: ", "))]}\n"
        }
        for i in 0..<40 { monitor("c\(i)", i == 0 ? [] : ["c\(i - 1)"]) }
        monitor("x0", [])
        monitor("y0", [])
        for i in 1...12 {
            monitor("x\(i)", ["x\(i - 1)", "y\(i - 1)"])
            monitor("y\(i)", ["x\(i - 1)", "y\(i - 1)"])
        }
        let agent = try RunningAgent(config: yaml)
        #expect(agent.waitForListeners() != nil, "log:\n\(agent.log)")
        let out = try agent.agentctl(["monitors", "--graph"])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix(String(repeating: "    ", count: 31) + "└── c32 [") }, "\(out.stdout)")
        #expect(!out.stdout.contains("c33"))
        #expect(lines.contains { $0.hasSuffix("└── … deeper levels not shown (agentctl monitors --graph --json lists them)") })
        // Chain: 33 lines and the summary; lattice: 2 roots, then each x/y under each of the two above.
        #expect(lines.count == 34 + 2 + 12 * 4, "\(lines.count) lines:\n\(out.stdout)")
        // Levels 1…11 each listed a second time without their children; level 12 has none.
        #expect(lines.filter { $0.hasSuffix("(children above)") }.count == 2 * 11, "\(out.stdout)")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }
}

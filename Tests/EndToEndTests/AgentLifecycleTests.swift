import Foundation
import Testing

/// Start-up, reload and shutdown of the real agent on a small loopback config.
@Suite("probe-agent lifecycle", .serialized)
struct AgentLifecycleTests {
    static func config(bCadence: String = "1s", extra: String = "") -> String {
        """
        log_level: info
        scheduler:
          tick: 10ms
        monitors:
          - id: a
            protocol: icmp
            cadence: 1s
            targets: [127.0.0.1, "::1", localhost]
          - id: b
            protocol: icmp
            cadence: \(bCadence)
            timeout: 200ms
            targets: [127.0.0.2]
          - id: c
            protocol: tcp-connect
            port: 1
            cadence: 1s
            timeout: 200ms
            targets: [127.0.0.3]
            depends_on: [a]
        \(extra)
        """
    }

    @Test func refusesAnInvalidConfigWithPositions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pa-bad-\(getpid()).yaml")
        try "monitors:\n  - id: x\n    protocol: icmp\n    cadense: 3s\n    targets: [127.0.0.1]\n"
            .write(to: dir, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try Tools.run([Tools.probeAgent, "--config", dir.path], timeout: 20)
        #expect(out.status == 1)
        #expect(out.stderr.contains("\(dir.path):4:5: error:"))
        #expect(out.stderr.contains("not starting"))
    }

    /// systemd may stop the agent while it is still starting: the stop waits for the loop and
    /// ends like any other (exit 0, the status written), never by SIGTERM's default action.
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func aStopWhileStartingIsACleanStop() throws {
        for _ in 0..<3 {
            let agent = try RunningAgent(config: Self.config())
            // Polled every millisecond: the stop lands while the servers are still starting.
            #expect(agent.waitForLog("engine up", timeout: 15, every: 1_000), "log:\n\(agent.log)")
            let exit = agent.stop()
            #expect(exit == 0, "log:\n\(agent.log)")
            #expect(agent.log.contains("SIGTERM: stopping"))
        }
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func reloadsOnSIGHUPAndOnFileChangeKeepsRunningOnInvalidFile() throws {
        let agent = try RunningAgent(config: Self.config())
        let first = try #require(agent.waitForStatus(timeout: 15) { $0.sent("a") >= 6 && $0.sent("b") >= 2 })
        #expect(first.engine.capabilitiesDropped)
        // c's port 1 refuses: failures, but a is up so they are not suppressed.
        #expect(first.monitor("c")?.targets.first?.record?.refused ?? 0 >= 1)
        let hashA = first.monitor("a")?.configHash

        // 1. Change only b (cadence 1s → 500ms), reload by SIGHUP.
        try agent.rewriteConfig(Self.config(bCadence: "500ms"))
        agent.signal(SIGHUP)
        let after = try #require(agent.waitForStatus(timeout: 10) { $0.reloads.succeeded >= 1 })
        #expect(after.reloads.changed == ["b"])
        #expect(Set(after.reloads.unchanged ?? []) == ["a", "c"])
        #expect(after.monitor("a")?.configHash == hashA)
        // Unchanged monitors keep their counters across the reload.
        #expect(after.sent("a") >= first.sent("a"))
        let bBefore = after.sent("b")
        Thread.sleep(forTimeInterval: 3)
        let later = try agent.status()
        #expect(later.sent("b") - bBefore >= 5, "b at 500ms should fire ~6 times in 3s, got \(later.sent("b") - bBefore)")

        // 2. An invalid file (by file change, no signal): reported, old config keeps running.
        try agent.rewriteConfig(Self.config() + "  - id: a\n    protocol: icmp\n    targets: [127.0.0.9]\n")
        let failed = try #require(agent.waitForStatus(timeout: 10) { $0.reloads.failed >= 1 })
        #expect(failed.reloads.lastError?.contains("duplicate") == true, "\(failed.reloads.lastError ?? "nil")")
        let firedAtFailure = failed.scheduler.fired
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try agent.status().scheduler.fired > firedAtFailure, "probing continues after a failed reload")

        // 3. Remove b by file change: its entries go, its late results are discarded.
        try agent.rewriteConfig(Self.config().replacingOccurrences(of: """
              - id: b
                protocol: icmp
                cadence: 1s
                timeout: 200ms
                targets: [127.0.0.2]

            """, with: ""))
        let removed = try #require(agent.waitForStatus(timeout: 10) { $0.reloads.removed == ["b"] })
        #expect(removed.monitor("b") == nil)
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
        #expect(agent.log.contains("config reload (file changed) failed"))
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func dependsOnSuppressesChildFailuresWhileParentIsDown() throws {
        // Parent p probes a closed port (always down); child k probes another closed port.
        let cfg = """
            monitors:
              - id: p
                protocol: tcp-connect
                port: 1
                cadence: 1s
                timeout: 200ms
                targets: [127.0.0.4]
              - id: k
                protocol: tcp-connect
                port: 1
                cadence: 1s
                timeout: 200ms
                targets: [127.0.0.5]
                depends_on: [p]
            """
        let agent = try RunningAgent(config: cfg)
        let s = try #require(agent.waitForStatus(timeout: 15) { ($0.monitor("k")?.targets.first?.record?.sent ?? 0) >= 4 })
        #expect(agent.stop() == 0)
        let k = try #require(s.monitor("k")?.targets.first?.record)
        #expect(s.monitor("p")?.down == true)
        #expect(s.monitor("k")?.suppressed == true)
        // At most the very first child result can precede the parent's first failure.
        #expect(k.suppressed >= k.sent - 1 && k.refused <= 1)
    }
}

import Foundation
import Testing

/// sd_notify end to end: the real agent talks to a datagram socket the test binds in place of
/// systemd's, through $NOTIFY_SOCKET (and $WATCHDOG_USEC / $WATCHDOG_PID).
@Suite("probe-agent under systemd: sd_notify", .serialized)
struct ServiceNotifyTests {
    /// Two loopback targets on a closed port: TCP connect probes, refused at once.
    static let config = TestConfig.closedPort(["127.0.0.1", "127.0.0.2"])

    @Test(.enabled(if: Tools.isRoot, "the engine needs CAP_NET_RAW (or ping_group_range) to open its ICMP sockets"),
          .timeLimit(.minutes(4)))
    func readyAfterProbingStartsThenWatchdogReloadAndStopping() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let systemd = try NotifyListener(path: dir.appendingPathComponent("notify.sock").path)
        let agent = try RunningAgent(config: Self.config, environment: [
            "NOTIFY_SOCKET=\(systemd.address)", "WATCHDOG_USEC=1000000",
        ])

        // READY=1, and only once probes went out: its STATUS says "probing" with the counts.
        let ready = try #require(systemd.next(timeout: 20) { $0.notifyFields["READY"] == "1" }, "log:\n\(agent.log)")
        #expect(ready.notifyFields["STATUS"] == "probing 1 monitor, 2 targets")
        #expect(!systemd.messages.contains { $0.contains("STOPPING") || $0.contains("RELOADING") })
        let probed = agent.waitForStatus(timeout: 10) { $0.sent("closed") >= 2 }
        #expect(probed != nil, "the status file shows the probes READY announced")

        // WATCHDOG=1 every WATCHDOG_USEC / 2 = 500 ms: about 6 in 3 s (slack for a loaded CI).
        let window = systemd.collect(for: 3)
        let pings = window.filter { $0 == "WATCHDOG=1" }.count
        #expect(pings >= 4 && pings <= 8, "\(pings) pings in 3 s: \(window)")

        // SIGHUP: RELOADING=1 (with the monotonic time systemd 253+ wants), then READY=1 again.
        agent.signal(SIGHUP)
        let reloading = try #require(systemd.next(timeout: 10) { $0.notifyFields["RELOADING"] == "1" })
        #expect(UInt64(reloading.notifyFields["MONOTONIC_USEC"] ?? "") != nil, "\(reloading)")
        let reloaded = try #require(systemd.next(timeout: 10) { $0.notifyFields["READY"] == "1" })
        #expect(reloaded.notifyFields["STATUS"]?.hasSuffix("config reloaded") == true, "\(reloaded)")

        // A refused file: still READY=1 (the running config stays), and STATUS says why.
        try "monitors: [oops".write(to: agent.configURL, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        let refused = try #require(systemd.next(timeout: 10) { $0.notifyFields["STATUS"]?.contains("reload failed") == true })
        #expect(refused.notifyFields["READY"] == "1", "\(refused)")
        #expect(refused.notifyFields["STATUS"]?.hasPrefix("probing 1 monitor, 2 targets; config reload failed, kept the running config: ") == true,
                "\(refused)")

        // SIGTERM: STOPPING=1 at once, then a clean exit.
        agent.signal(SIGTERM)
        let stopping = systemd.next(timeout: 10) { $0.notifyFields["STOPPING"] == "1" }
        #expect(stopping != nil, "messages: \(systemd.messages)")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    @Test(.enabled(if: Tools.isRoot, "the engine needs CAP_NET_RAW (or ping_group_range) to open its ICMP sockets"),
          .timeLimit(.minutes(4)))
    func abstractSocketReadyWithNothingDueAndNoWatchdogForAnotherPID() throws {
        // One target on a one-hour cadence: its first probe is due long after start, so READY=1
        // comes from the one-second fallback and says so. $WATCHDOG_PID names another process
        // (PID 1): the watchdog is not ours, so no WATCHDOG=1 may be sent.
        let cfg = """
            monitors:
              - id: hourly
                protocol: tcp-connect
                port: 1
                cadence: 1h
                targets: [127.0.0.1]
            """
        let systemd = try NotifyListener(abstract: "probe-agent-test-\(UUID().uuidString)")
        let agent = try RunningAgent(config: cfg, environment: [
            "NOTIFY_SOCKET=\(systemd.address)", "WATCHDOG_USEC=400000", "WATCHDOG_PID=1",
        ])
        let ready = try #require(systemd.next(timeout: 20) { $0.notifyFields["READY"] == "1" }, "log:\n\(agent.log)")
        #expect(ready.notifyFields["STATUS"] == "started 1 monitor, 1 target; no probe sent yet")
        _ = systemd.collect(for: 1.5)
        #expect(!systemd.messages.contains("WATCHDOG=1"), "\(systemd.messages)")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
        #expect(systemd.next(timeout: 5) { $0.notifyFields["STOPPING"] == "1" } != nil, "\(systemd.messages)")
    }

    @Test(.enabled(if: Tools.isRoot, "the engine needs CAP_NET_RAW (or ping_group_range) to open its ICMP sockets"),
          .timeLimit(.minutes(4)))
    func aNotifySocketNobodyListensOnIsLoggedOnceAndProbingGoesOn() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).sock").path
        let agent = try RunningAgent(config: Self.config, environment: ["NOTIFY_SOCKET=\(missing)", "WATCHDOG_USEC=200000"])
        let probing = agent.waitForStatus(timeout: 15) { $0.sent("closed") >= 4 }
        #expect(probing != nil, "log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let warnings = agent.log.components(separatedBy: "cannot notify systemd on $NOTIFY_SOCKET").count - 1
        #expect(warnings == 1, "log:\n\(agent.log)")
    }
}

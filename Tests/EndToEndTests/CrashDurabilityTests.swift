import Foundation
import TestSupport
import Testing

/// Write-ahead delivery under `kill -9`, with a real VictoriaMetrics behind a proxy that
/// answers every request 2.5 s late (up, just slow), 2,000 targets at 1 s. Everything runs in
/// the client namespace of the test network (Tests/support/testnet.sh): the probes go over the
/// veth to the server namespace, whose kernel counts every echo request it receives
/// (/proc/net/snmp Icmp InEchos): the probes made, counted by someone other than the agent.
/// Results lost = probes made - distinct samples in the store - results still on disk at the end.
extension LongRunningTests {
@Suite("write-ahead delivery through kill -9", .serialized)
struct CrashDurabilityTests {
    static let net = "acd\(getpid())"
    static let targets = 2_000

    static func sh(_ args: [String], timeout: TimeInterval = 60) throws -> Tools.Output {
        try Tools.run(args, timeout: timeout)
    }

    /// Echo requests the server namespace's kernel has received.
    static func echoesReceived() throws -> Int { try TestNetwork(name: net).echoesReceived() }

    /// Distinct (series, timestamp) samples of probe_success in the store (a result sent twice
    /// after a crash is one sample: at-least-once delivery).
    static func distinctSamples(port: Int) throws -> Int {
        let out = try sh([Tools.testnet, "exec", net, "curl", "-sf", "--max-time", "60",
                          "http://127.0.0.1:\(port)/api/v1/export", "--data-urlencode", "match[]=probe_success"],
                         timeout: 90)
        var seen = Set<String>()
        for line in out.stdout.split(separator: "\n") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let metric = obj["metric"] as? [String: String], let ts = obj["timestamps"] as? [Int] else { continue }
            let key = "\(metric["monitor"] ?? "")/\(metric["target"] ?? "")"
            for t in ts { seen.insert("\(key)@\(t)") }
        }
        return seen.count
    }

    static func config(url: String, spill: String) -> String {
        let monitors = (0..<8).map { m in
            """
              - id: m\(m)
                protocol: icmp
                cadence: 1s
                targets: [\((0..<250).map { "198.18.1.\($0 + 1)" }.joined(separator: ", "))]
            """
        }.joined(separator: "\n")
        return """
            log_level: info
            spill:
              dir: \(spill)
              fsync_interval: 1s
            remote_write:
              url: \(url)
              timeout: 10s
            monitors:
            \(monitors)
            """
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs root (namespaces) and Debian's victoria-metrics"), .timeLimit(.minutes(6)))
    func killNineWithASlowStoreLosesAtMostTheFsyncInterval() throws {
        try crashAndRecover(storeDown: false)
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs root (namespaces) and Debian's victoria-metrics"), .timeLimit(.minutes(6)))
    func killNineWithTheStoreDownLosesAtMostTheFsyncInterval() throws {
        try crashAndRecover(storeDown: true)
    }

    /// `kill -9` after ~40 s against a store answering in 2.5 s (or refusing connections), a
    /// restart on the same spill dir with the store fast, then a clean stop once delivery is
    /// normal again; then the count.
    func crashAndRecover(storeDown: Bool) throws {
        let up = try Self.sh([Tools.testnet, "up", Self.net], timeout: 60)
        defer { _ = try? Self.sh([Tools.testnet, "down", Self.net], timeout: 60) }
        try #require(up.status == 0, "testnet up failed: \(up.stderr)")
        try #require(try Self.sh([Tools.testnet, "check", Self.net]).status == 0, "route check failed, not probing")
        let vmPort = try FakeStore.freePort(), proxyPort = try FakeStore.freePort()
        let vmName = "cd\(getpid())"
        let vm = try Self.sh([Tools.testnet, "exec", Self.net, Tools.root.appendingPathComponent("Tests/support/victoria-metrics.sh").path,
                              "start", vmName, "\(vmPort)"], timeout: 90)
        defer { _ = try? Self.sh([Tools.root.appendingPathComponent("Tests/support/victoria-metrics.sh").path, "stop", vmName], timeout: 60) }
        try #require(vm.status == 0, "victoria-metrics: \(vm.stderr)")
        let proxy = try ChildProcess([Tools.testnet, "exec", Self.net, "python3",
                                      Tools.root.appendingPathComponent("Tests/support/slow-proxy.py").path,
                                      "\(proxyPort)", "\(vmPort)", "2.5"])
        defer { proxy.signal(SIGTERM); _ = proxy.wait(timeout: 5) }
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("crash-spill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: spill) }
        let config = Self.config(url: "http://127.0.0.1:\(proxyPort)/api/v1/write", spill: spill)
        // Nothing listens on that port in the namespace: every request is refused.
        let refused = Self.config(url: "http://127.0.0.1:\(try FakeStore.freePort())/api/v1/write", spill: spill)
        let before = try Self.echoesReceived()

        // ~40 s against the slow (or refusing) store, then SIGKILL.
        let first = try RunningAgent(config: storeDown ? refused : config, launcher: [Tools.testnet, "exec", Self.net])
        let behind = first.waitForStatus(timeout: 60) { ($0.delivery?.memQueueDepth ?? 0) + ($0.delivery?.spillPendingRecords ?? 0) > 10_000 }
        try #require(behind != nil, "the store should fall behind; log:\n\(first.log.suffix(3000))")
        if storeDown {
            // A refused connection counts once remote_write.timeout (10 s) has passed: the HTTP
            // client retries the connect until its deadline.
            #expect(first.waitForStatus(timeout: 30) { $0.delivery?.mode == .degraded } != nil, "degraded while refused")
        }
        Thread.sleep(forTimeInterval: 30)
        let atKill = try first.status()
        first.signal(SIGKILL)
        _ = first.stop(timeout: 5)
        let written = atKill.delivery?.spillBytesWritten ?? 0, received = max(1, atKill.delivery?.resultsReceived ?? 1)
        print("\(storeDown ? "store down" : "store slow"), at kill -9: \(atKill.delivery?.memQueueDepth ?? 0) results in memory, \(atKill.delivery?.spillPendingRecords ?? 0) waiting in the log; \(written) bytes written for \(received) results: \(written / received) B/result")
        #expect(written / received < 80, "compressed blocks: under 80 bytes a result")
        #expect((atKill.delivery?.spillPendingRecords ?? 0) >= 10_000, "everything waiting is in the log")

        // Restart on the same log, with the store fast again; wait for normal, then stop cleanly.
        _ = try Self.sh([Tools.testnet, "exec", Self.net, "curl", "-sf", "-X", "POST",
                         "http://127.0.0.1:\(proxyPort)/control?delay=0"])
        let second = try RunningAgent(config: config, launcher: [Tools.testnet, "exec", Self.net])
        let caughtUp = second.waitForStatus(timeout: 150) { s in
            s.delivery?.mode == .normal && (s.delivery?.resultsShipped ?? 0) > 0 && (s.delivery?.spillPendingRecords ?? 1) < 4_000
        }
        #expect(caughtUp != nil, "back to normal; log:\n\(second.log.suffix(3000))")
        #expect(second.stop() == 0)
        let end = try second.status()
        let pending = end.delivery?.spillPendingRecords ?? 0
        Thread.sleep(forTimeInterval: 2)
        let made = try Self.echoesReceived() - before
        let stored = try Self.distinctSamples(port: vmPort)
        let lost = made - stored - pending
        print("\(storeDown ? "store down" : "store slow"): made \(made) probes (kernel echo counter), \(stored) distinct samples stored, \(pending) on disk at stop: \(lost) lost (bound: 1.5 s = \(Self.targets * 3 / 2))")
        #expect(made > 30 * Self.targets)
        #expect(lost <= Self.targets * 3 / 2, "lost \(lost) results, more than 1.5 s of production")
    }
}
}

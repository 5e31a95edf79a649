import Foundation
import TestSupport
import Testing

/// The kill -9 guarantee per store: two stores, "a" a fast VictoriaMetrics, "b" refusing
/// connections (its results pile up at its own position in the one log); SIGKILL after ~40 s;
/// a restart with "b" pointed at a second VictoriaMetrics (same name, so the same position);
/// a clean stop once both are normal. For each store: probes made (the server namespace's
/// kernel echo counter) - distinct samples it stored - results still on disk for it ≤ 1.5 s of
/// production, as for one store (CrashDurabilityTests).
extension LongRunningTests.CrashDurabilityTests {
    static func twoStoreConfig(a: String, b: String, spill: String) -> String {
        config(url: a, spill: spill).replacingOccurrences(of: """
            remote_write:
              url: \(a)
              timeout: 10s
            """, with: """
            remote_write:
              - name: a
                url: \(a)
                timeout: 10s
              - name: b
                url: \(b)
                timeout: 10s
            """)
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs root (namespaces) and Debian's victoria-metrics"), .timeLimit(.minutes(6)))
    func killNineWithOneOfTwoStoresDownLosesAtMostTheFsyncIntervalInEither() throws {
        let up = try Self.sh([Tools.testnet, "up", Self.net], timeout: 60)
        defer { _ = try? Self.sh([Tools.testnet, "down", Self.net], timeout: 60) }
        try #require(up.status == 0, "testnet up failed: \(up.stderr)")
        try #require(try Self.sh([Tools.testnet, "check", Self.net]).status == 0, "route check failed, not probing")
        let script = Tools.root.appendingPathComponent("Tests/support/victoria-metrics.sh").path
        let ports = [try FakeStore.freePort(), try FakeStore.freePort()]
        let names = ["cda\(getpid())", "cdb\(getpid())"]
        for (name, port) in zip(names, ports) {
            let vm = try Self.sh([Tools.testnet, "exec", Self.net, script, "start", name, "\(port)"], timeout: 90)
            try #require(vm.status == 0, "victoria-metrics: \(vm.stderr)")
        }
        defer { for name in names { _ = try? Self.sh([script, "stop", name], timeout: 60) } }
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("crash2-spill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: spill) }
        let url = ports.map { "http://127.0.0.1:\($0)/api/v1/write" }
        // Nothing listens on that port in the namespace: every request of "b" is refused.
        let bDown = Self.twoStoreConfig(a: url[0], b: "http://127.0.0.1:\(try FakeStore.freePort())/api/v1/write", spill: spill)
        let bothUp = Self.twoStoreConfig(a: url[0], b: url[1], spill: spill)
        try #require(bDown.contains("- name: b"), "the config has two stores:\n\(bDown)")
        let before = try Self.echoesReceived()

        let first = try RunningAgent(config: bDown, launcher: [Tools.testnet, "exec", Self.net])
        let piled = first.waitForStatus(timeout: 60) { s in
            s.stores?[1].mode == .degraded && (s.stores?[1].spillPendingRecords ?? 0) > 10_000
        }
        try #require(piled != nil, "store b should fall behind; log:\n\(first.log.suffix(3000))")
        Thread.sleep(forTimeInterval: 20)
        let atKill = try first.status()
        first.signal(SIGKILL)
        _ = first.stop(timeout: 5)
        let a = atKill.stores?[0], b = atKill.stores?[1]
        print("two stores, at kill -9: a \(a?.mode.rawValue ?? "?") with \(a?.spillPendingRecords ?? -1) waiting, b \(b?.mode.rawValue ?? "?") with \(b?.spillPendingRecords ?? -1) waiting in the log")
        #expect(a?.mode == .normal && (a?.spillPendingRecords ?? .max) < 5_000, "store a keeps up while b is down")
        #expect((b?.spillPendingRecords ?? 0) >= 10_000, "everything b waits for is in the log")

        let second = try RunningAgent(config: bothUp, launcher: [Tools.testnet, "exec", Self.net])
        let caughtUp = second.waitForStatus(timeout: 150) { s in
            (s.stores ?? []).count == 2 && (s.stores ?? []).allSatisfy { $0.mode == .normal && $0.resultsShipped > 0 && $0.spillPendingRecords < 4_000 }
        }
        #expect(caughtUp != nil, "both back to normal; log:\n\(second.log.suffix(3000))")
        #expect(second.stop() == 0)
        let end = try second.status()
        Thread.sleep(forTimeInterval: 2)
        let made = try Self.echoesReceived() - before
        #expect(made > 30 * Self.targets)
        for (i, port) in ports.enumerated() {
            let pending = end.stores?[i].spillPendingRecords ?? 0
            let stored = try Self.distinctSamples(port: port)
            let lost = made - stored - pending
            print("two stores, store \(["a", "b"][i]): made \(made) probes (kernel echo counter), \(stored) distinct samples stored, \(pending) on disk at stop: \(lost) lost (bound: 1.5 s = \(Self.targets * 3 / 2))")
            #expect(lost <= Self.targets * 3 / 2, "store \(["a", "b"][i]) lost \(lost) results, more than 1.5 s of production")
        }
    }
}

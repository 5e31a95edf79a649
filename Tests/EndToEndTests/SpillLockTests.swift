import Foundation
import Testing

/// One owner per spill directory: a second real `probe-agent` on a spill dir a running one
/// holds exits at once, naming the holder, and changes nothing there; the first one goes on
/// and delivers everything it made.
@Suite("one probe-agent per spill directory", .serialized)
struct SpillLockTests {
    /// Every entry of `dir` (not descending): regular files with their bytes, anything else
    /// with its kind. What "changes nothing" compares: names, segment sizes and contents,
    /// read.pos, the lock file's pid.
    static func snapshot(_ dir: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let path = dir.appendingPathComponent(name).path
            let type = try FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType
            if type == .typeRegular {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                out[name] = "\(data.count) bytes, \(data.hashValue)"
            } else {
                out[name] = "\(type?.rawValue ?? "?")"
            }
        }
        return out
    }

    /// True once every thread of `pid` is stopped (state T), within `timeout`.
    static func waitUntilStopped(_ pid: pid_t, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            let states = tasks.compactMap { tid -> Character? in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return nil }
                return stat[stat.index(close, offsetBy: 2)...].first
            }
            if !states.isEmpty, states.allSatisfy({ $0 == "T" || $0 == "t" }) { return true }
            usleep(20_000)
        }
        return false
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func secondAgentOnTheSameSpillDirExitsNamingTheHolderAndChangesNothing() throws {
        let store = try FakeStore()
        try store.setMode("500")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let first = try RunningAgent(config: DeliveryTests.config(store: store.url, spill: spill))
        let piled = first.waitForStatus(timeout: 30) { s in
            s.delivery?.mode == .degraded && (s.delivery?.spillPendingRecords ?? 0) >= 30
        }
        try #require(piled != nil, "results pile up on disk while the store fails; log:\n\(first.log)")
        // A backlog partly drained (so read.pos exists), then piling up again: a read position
        // and a tail for a second agent to "repair" and overwrite.
        try store.setMode("ok")
        let drained = first.waitForStatus(timeout: 30) { s in
            s.delivery?.mode == .normal && s.delivery?.modeHistory.contains(.recovery) == true
        }
        try #require(drained != nil, "the first backlog drains; log:\n\(first.log)")
        try store.setMode("500")
        let again = first.waitForStatus(timeout: 30) { s in
            s.delivery?.mode == .degraded && (s.delivery?.spillPendingRecords ?? 0) >= 20
        }
        try #require(again != nil, "results pile up on disk again; log:\n\(first.log)")
        let lockFile = spill.appendingPathComponent("lock").path
        #expect((try? String(contentsOfFile: lockFile, encoding: .utf8)) == "\(first.pid)\n")

        // Hold the first one still (it keeps its lock) so that the directory can only change
        // if the second one changes it.
        first.signal(SIGSTOP)
        var resumed = false
        defer { if !resumed { first.signal(SIGCONT) } }
        try #require(Self.waitUntilStopped(first.pid, timeout: 5), "the first agent did not stop")
        let before = try Self.snapshot(spill)
        #expect(before.keys.contains { $0.hasPrefix("seg-") } && before.keys.contains { $0.hasPrefix("read-") && $0.hasSuffix(".pos") }, "\(before)")

        // Its own admin socket and HTTP port (RunningAgent), the same spill dir.
        let started = Date()
        let second = try RunningAgent(config: DeliveryTests.config(store: store.url, spill: spill))
        let status = second.process.wait(timeout: 2)
        let took = Date().timeIntervalSince(started)
        if status == nil { _ = second.stop(timeout: 2) }
        #expect(status != nil && status != 0, "the second agent exits non-zero within 2 s (status \(String(describing: status)), \(took) s); log:\n\(second.log)")
        let lines = second.log.split(separator: "\n")
        #expect(lines.count == 1, "one line on stderr:\n\(second.log)")
        let message = lines.first.map(String.init) ?? ""
        print("second agent: exit \(String(describing: status)) after \(String(format: "%.2f", took)) s: \(message)")
        #expect(message.contains("spill.dir \(spill.path) is in use"), "\(message)")
        #expect(message.contains("pid \(first.pid) holds the lock on \(lockFile)"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: second.socketPath), "the second agent started nothing")
        let after = try Self.snapshot(spill)
        #expect(after == before, "the second agent changed the spill dir:\nbefore \(before)\nafter  \(after)")

        // The first goes on and, once the store is back, delivers everything it made.
        first.signal(SIGCONT)
        resumed = true
        try store.setMode("ok")
        let normal = first.waitForStatus(timeout: 40) { s in
            s.delivery?.mode == .normal && (s.delivery?.modeHistory.filter { $0 == .recovery }.count ?? 0) >= 2
        }
        #expect(normal != nil, "back to normal; log:\n\(first.log)")
        #expect(first.stop() == 0)
        let s = try first.status()
        let l = try DeliveryTests.ledger(s, store)
        #expect(l.made >= 30)
        #expect(l.delivered + l.pending == l.made, "made \(l.made) = delivered \(l.delivered) + pending \(l.pending)")
        #expect(l.delivered >= (piled?.delivery?.spillPendingRecords ?? .max) + (again?.delivery?.spillPendingRecords ?? 0),
                "both backlogs were delivered")
        #expect(s.delivery?.resultsLost == 0 && s.delivery?.spillDroppedRecords == 0)
        #expect(!first.log.contains("is in use"), "the first agent saw no lock trouble")
    }
}

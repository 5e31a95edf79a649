import AdminAPI
import Foundation
import Testing

/// The real agent against a store answering 401/404 (failing: keep, retry), 400 (malformed: dead
/// letter, capped), 302 (never followed), a rotated bearer token file, and no answer at all
/// (refused, too slow, not TLS). Checked only from outside: /health, the status file,
/// `agentctl queue-stats --json`, what the store got, the dead-letter files and the log.
@Suite("probe-agent and the store's answers", .serialized)
struct StoreAnswerTests {
    /// Four refused TCP ports every 500 ms (8 results/s; no privileges needed), small requests.
    static func config(url: String, spill: URL, remoteWrite: String = "", spillExtra: String = "") -> String {
        """
        log_level: info
        queue:
          mem_items_cap: 200
        spill:
          dir: \(spill.path)
          fsync_interval: 200ms
        \(spillExtra)
        remote_write:
          url: \(url)
          samples_per_request: 30
          flush_interval: 200ms
          timeout: 1s
          backfill_rate: 2000
        \(remoteWrite)
        monitors:
          - id: closed
            protocol: tcp-connect
            port: 1
            cadence: 500ms
            timeout: 300ms
            targets: [127.0.0.1, 127.0.0.2, 127.0.0.3, 127.0.0.4]
        """
    }

    /// The status file's delivery mode and reason (read as JSON: the reason is not in AgentStatus).
    static func modeAndReason(_ agent: RunningAgent) -> (mode: String, reason: String)? {
        guard let data = try? Data(contentsOf: agent.statusURL),
              let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let d = top["delivery"] as? [String: Any],
              let mode = d["mode"] as? String, let reason = d["modeReason"] as? String else { return nil }
        return (mode, reason)
    }

    /// Polls the status file until the mode and reason satisfy `ready` (bounded by `timeout`).
    static func waitForMode(_ agent: RunningAgent, timeout: TimeInterval,
                            _ ready: (String, String) -> Bool) -> (mode: String, reason: String)? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let m = modeAndReason(agent), ready(m.mode, m.reason) { return m }
            usleep(200_000)
        }
        return nil
    }

    /// /health as JSON.
    static func health(_ agent: RunningAgent) throws -> [String: Any] {
        let address = try #require(agent.waitForListeners())
        let reply = try ServiceSurfaceTests.get("http://\(address)/health")
        return try #require(JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any], "\(reply.body)")
    }

    /// Bytes and files in a directory (0, 0 when it does not exist).
    static func usage(_ dir: URL) -> (bytes: Int, files: Int) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let bytes = names.reduce(0) { sum, name in
            sum + ((try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)[.size] as? Int) ?? 0)
        }
        return (bytes, names.count)
    }

    /// Requests that landed on the fake store's redirect target.
    static func redirected(_ store: FakeStore) throws -> Int {
        let out = try Tools.run(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(store.port)/stats"], timeout: 10)
        let stats = try #require(JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out.stdout)")
        return stats["redirected"] as? Int ?? -1
    }

    @Test(.timeLimit(.minutes(3)), arguments: [401, 404])
    func failingStatusKeepsEveryResultAndNamesTheAnswer(status: Int) throws {
        let store = try FakeStore()
        try store.setMode("status:\(status)")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(url: store.url, spill: spill))
        let started = Date()
        let word = status == 401 ? "HTTP 401 Unauthorized: unauthorized" : "HTTP 404 Not Found: not found"
        let degraded = Self.waitForMode(agent, timeout: 20) { mode, reason in mode == "degraded" && reason.contains(word) }
        #expect(degraded != nil, "degraded with '\(word)': \(String(describing: Self.modeAndReason(agent))); log:\n\(agent.log)")
        let health = try Self.health(agent)
        #expect(health["mode"] as? String == "degraded" && (health["reason"] as? String)?.contains(word) == true, "\(health)")
        let queue = try agent.agentctl(["queue-stats", "--json"])
        #expect(queue.stdout.contains(word), "queue-stats --json: \(queue.stdout)")
        // ~12 s of failure in all, then the store takes everything.
        Thread.sleep(forTimeInterval: max(0, 12 - Date().timeIntervalSince(started)))
        #expect((try agent.status().delivery?.spillPendingRecords ?? 0) > 0, "results wait on disk")
        try store.setMode("ok")
        let back = agent.waitForStatus(timeout: 40) { $0.delivery?.mode == .normal }
        #expect(back != nil, "back to normal, backlog drained; log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let s = try agent.status()
        let l = try DeliveryTests.ledger(s, store)
        #expect(l.made > 40 && l.nothingLost && l.deadLetter == 0, "\(l)")
        #expect(s.delivery?.deadLetterRequests == 0 && s.delivery?.resultsLost == 0)
        #expect(Self.usage(spill.appendingPathComponent("dead-letter")).files == 0, "nothing dead-lettered")
    }

    @Test(.timeLimit(.minutes(3)))
    func malformedRequestsAreDeadLetteredUnderTheCap() throws {
        let store = try FakeStore()
        try store.setMode("status:400")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        // A foreign file in the dead-letter directory: left alone, never a crash.
        let deadLetter = spill.appendingPathComponent("dead-letter")
        try FileManager.default.createDirectory(at: deadLetter, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: deadLetter.appendingPathComponent("README.operator"))
        let cap = 3_000
        let agent = try RunningAgent(config: Self.config(url: store.url, spill: spill,
                                                         spillExtra: "  dead_letter_max_bytes: \(cap)"))
        let s = agent.waitForStatus(timeout: 40) { ($0.delivery?.deadLetterRequests ?? 0) >= 12 }
        #expect(s != nil, "12 requests dead-lettered; log:\n\(agent.log)")
        #expect(agent.waitForLog("over spill.dead_letter_max_bytes", timeout: 10), "drops logged; log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let f = try agent.status()
        let d = try #require(f.delivery)
        #expect(d.deadLetterRequests >= 12 && d.deadLetterResults > 0 && d.mode == .normal)
        let foreign = 5 // README.operator
        let used = Self.usage(deadLetter)
        #expect(used.bytes - foreign <= cap, "dead-letter directory \(used.bytes) bytes, cap \(cap)")
        #expect(used.files >= 3 && used.files % 2 == 1, "newest requests kept as .bin + .txt pairs, the foreign file too: \(used.files)")
        #expect(FileManager.default.fileExists(atPath: deadLetter.appendingPathComponent("README.operator").path))
        // "… N requests and M results dropped since start": drops counted.
        let line = try #require(agent.log.split(separator: "\n").last { $0.contains("dropped since start") })
        #expect(line.contains("requests and") && !line.contains(" 0 requests and"), "\(line)")
        let l = try DeliveryTests.ledger(f, store)
        #expect(l.delivered == 0 && l.deadLetter + l.pending == l.made, "\(l)")
    }

    @Test(.timeLimit(.minutes(3)))
    func redirectIsFailingAndNeverFollowed() throws {
        let store = try FakeStore()
        try store.setMode("redirect:302")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(url: store.url, spill: spill))
        let target = "http://127.0.0.1:\(store.port)/redirected/api/v1/write"
        let degraded = Self.waitForMode(agent, timeout: 20) { mode, reason in mode == "degraded" && reason.contains(target) }
        #expect(degraded?.reason.contains("HTTP 302") == true,
                "degraded, naming the Location: \(String(describing: Self.modeAndReason(agent))); log:\n\(agent.log)")
        Thread.sleep(forTimeInterval: 4)
        #expect(try Self.redirected(store) == 0, "nothing sent to the redirect target")
        try store.setMode("ok")
        #expect(agent.waitForStatus(timeout: 40) { $0.delivery?.mode == .normal } != nil,
                "log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        #expect(try Self.redirected(store) == 0)
        let l = try DeliveryTests.ledger(try agent.status(), store)
        #expect(l.nothingLost && l.deadLetter == 0, "\(l)")
    }

    @Test(.timeLimit(.minutes(3)))
    func rotatedBearerTokenFileResumesDeliveryWithoutRestart() throws {
        let (old, new) = ("tok-old-7f3a91", "tok-new-9c2e55")
        let store = try FakeStore()
        try store.setMode("auth:\(old)")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let tokenFile = spill.deletingLastPathComponent().appendingPathComponent("token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        try "\(old)\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let agent = try RunningAgent(config: Self.config(url: store.url, spill: spill,
                                                         remoteWrite: "  bearer_token_file: \(tokenFile.path)"))
        #expect(agent.waitForStatus(timeout: 20) { ($0.delivery?.resultsShipped ?? 0) >= 8 } != nil, "log:\n\(agent.log)")
        // The store now wants the new token: 401 until the file is rotated.
        try store.setMode("auth:\(new)")
        let refused = Self.waitForMode(agent, timeout: 15) { mode, reason in mode == "degraded" && reason.contains("HTTP 401") }
        #expect(refused != nil, "log:\n\(agent.log)")
        Thread.sleep(forTimeInterval: 2)
        try "\(new)\n".write(to: tokenFile, atomically: true, encoding: .utf8) // rename: a new inode
        let pid = agent.pid
        let back = agent.waitForStatus(timeout: 40) { $0.delivery?.mode == .normal }
        #expect(back != nil, "delivery resumes with the new token; log:\n\(agent.log)")
        #expect(kill(pid, 0) == 0, "same process, no restart")
        #expect(agent.stop() == 0)
        let l = try DeliveryTests.ledger(try agent.status(), store)
        #expect(l.nothingLost && l.deadLetter == 0, "\(l)")
        let accepted = try store.requests().enumerated().filter { $0.element.mode == "ok" }.map(\.offset)
        let newHeader = try store.headers(ofRequest: try #require(accepted.last) + 1)["Authorization"]
        #expect(newHeader == "Bearer \(new)")
        #expect(agent.log.contains("changed: using the new credential"), "log:\n\(agent.log)")
        #expect(!agent.log.contains(old) && !agent.log.contains(new), "no token in the log:\n\(agent.log)")
    }

    @Test(.timeLimit(.minutes(4)))
    func configCheckNeverShowsASecret() throws {
        let secret = "pw-5ecr3t-41"
        let dir = try DeliveryTests.tempDir("cfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.yaml"), bad = dir.appendingPathComponent("bad.yaml")
        let base = Self.config(url: "http://127.0.0.1:9/api/v1/write", spill: dir,
                               remoteWrite: "  basic_auth:\n    username: u\n    password: \(secret)")
        try base.write(to: good, atomically: true, encoding: .utf8)
        try base.replacingOccurrences(of: "  timeout: 1s", with: "  timeout: never\n  bearer_token: \(secret)")
            .write(to: bad, atomically: true, encoding: .utf8)
        for args in [["config", "check", good.path], ["config", "check", "--json", good.path],
                     ["config", "check", bad.path], ["config", "check", "--json", bad.path]] {
            let out = try Tools.run([Tools.agentctl] + args)
            #expect(!out.stdout.contains(secret) && !out.stderr.contains(secret), "\(args): \(out.stdout)\(out.stderr)")
        }
        let out = try Tools.run([Tools.agentctl, "config", "check", bad.path])
        #expect(out.status == 1 && out.stderr.contains("set only one of basic_auth, bearer_token"), "\(out.stderr)")
    }

    /// No HTTP answer at all: the reason says what happened, in words.
    @Test(.timeLimit(.minutes(4)), arguments: ["refused", "slow", "tls"])
    func noAnswerReadsForAPerson(kind: String) throws {
        let store = try FakeStore()
        try store.setMode("slow:3")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let url: String, expected: String
        switch kind {
        case "refused":
            let port = try FakeStore.freePort()
            (url, expected) = ("http://127.0.0.1:\(port)/api/v1/write", "connection refused by 127.0.0.1:\(port)")
        case "slow":
            (url, expected) = (store.url, "no answer within 1s (remote_write.timeout)")
        default:
            (url, expected) = ("https://127.0.0.1:\(store.port)/api/v1/write", "TLS handshake with 127.0.0.1:\(store.port) failed: ")
        }
        let agent = try RunningAgent(config: Self.config(url: url, spill: spill))
        let m = Self.waitForMode(agent, timeout: 25) { mode, reason in mode == "degraded" && reason.contains(expected) }
        #expect(m != nil, "\(kind): expected '\(expected)', got \(String(describing: Self.modeAndReason(agent))); log:\n\(agent.log)")
        #expect(agent.stop() == 0)
    }
}

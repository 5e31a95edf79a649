import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import AdminAPI
import ProbeAgentCore
import TestSupport
import Testing

/// file_sd and http_sd with the real agent: a real HTTP SD server (Tests/support/sd-server.py)
/// and real files on loopback, results shipped to a real VictoriaMetrics.
@Suite("Target discovery end to end", .serialized)
struct DiscoveryEndToEndTests {
    /// Tests/support/sd-server.py on a free loopback port, stopped by PID.
    final class SDServer {
        let port: Int
        let dir: URL
        private var process: ChildProcess!

        init(token: String) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("sd-server-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            port = try FakeStore.freePort()
            process = try ChildProcess(["python3", Tools.root.appendingPathComponent("Tests/support/sd-server.py").path,
                                        "\(port)", dir.path, token])
            for _ in 0..<100 where (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/health")!)) == nil { usleep(50_000) }
        }

        deinit {
            process.signal(SIGTERM)
            _ = process.wait(timeout: 5)
            process = nil
            try? FileManager.default.removeItem(at: dir)
        }

        var url: String { "http://127.0.0.1:\(port)/targets" }

        /// Replaces a control file atomically.
        func set(_ name: String, _ text: String?) throws {
            let path = dir.appendingPathComponent(name)
            guard let text else { try? FileManager.default.removeItem(at: path); return }
            try text.write(to: path, atomically: true, encoding: .utf8)
        }

        var requests: [String] {
            ((try? String(contentsOf: dir.appendingPathComponent("requests"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    static func metrics(_ agent: RunningAgent) -> String {
        guard let a = agent.httpAddress, let d = try? Data(contentsOf: URL(string: "http://\(a)/metrics")!) else { return "" }
        return String(decoding: d, as: UTF8.self)
    }

    /// The value of the first sample of `name` whose line contains every one of `having`.
    static func sample(_ text: String, _ name: String, _ having: [String] = []) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && having.allSatisfy({ line.contains($0) }) {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    static func targets(_ s: AgentStatus, _ monitor: String) -> [String: TargetRecord] {
        Dictionary(uniqueKeysWithValues: (s.monitor(monitor)?.targets ?? []).compactMap { t in t.record.map { (t.target, $0) } })
    }

    /// Where in the 1 s cadence a probe left (wall clock, ns); the grid is phase + k s.
    static func phase(_ r: TargetRecord?) -> Int64? { r?.lastSentAtNanoseconds.map { Int64($0 % 1_000_000_000) } }

    /// Distance between two phases on the 1 s circle, in ms.
    static func phaseGap(_ a: Int64, _ b: Int64) -> Int64 {
        let d = abs(a - b) % 1_000_000_000
        return min(d, 1_000_000_000 - d) / 1_000_000
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs CAP_NET_RAW for raw ICMP and Debian's victoria-metrics"), .timeLimit(.minutes(3)))
    func httpSDGroupsWithLabelsAreProbedKeptThroughFailureAndChangedWithoutDisturbingTheRest() throws {
        let vmPort = try FakeStore.freePort()
        let vmName = "sd\(getpid())"
        let vmScript = Tools.root.appendingPathComponent("Tests/support/victoria-metrics.sh").path
        let vm = try Tools.run([vmScript, "start", vmName, "\(vmPort)"], timeout: 90)
        try #require(vm.status == 0, "victoria-metrics: \(vm.stderr)")
        defer { _ = try? Tools.run([vmScript, "stop", vmName], timeout: 60) }
        let server = try SDServer(token: "s3cret")
        try server.set("body.json", #"[{"targets":["127.0.0.2","127.0.0.3","127.0.0.4"],"labels":{"site":"ams","__meta_dc":"x"}},{"targets":["127.0.0.5:9100"],"labels":{"rack":"r9"}}]"#)
        let agent = try RunningAgent(config: """
            scheduler:
              tick: 10ms
            spill:
              dir: $DIR/spill
            remote_write:
              url: http://127.0.0.1:\(vmPort)/api/v1/write
              flush_interval: 200ms
            monitors:
              - id: sd
                protocol: icmp
                cadence: 1s
                timeout: 300ms
                labels: {team: net}
                http_sd_configs:
                  - url: \(server.url)
                    refresh_interval: 1s
                    authorization: {credentials: s3cret}
            """)
        let original = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
        let first = try #require(agent.waitForStatus(timeout: 30) { s in
            let t = Self.targets(s, "sd")
            return Set(t.keys) == Set(original) && t.values.allSatisfy { $0.sent >= 3 }
        }, "log:\n\(agent.log)")
        let before = Self.targets(first, "sd")
        var page = Self.metrics(agent)
        #expect(page.contains(#"probe_sent_total{monitor="sd",target="127.0.0.2",protocol="icmp",site="ams",team="net"}"#), "\(page.prefix(3000))")
        #expect(page.contains(#"probe_sent_total{monitor="sd",target="127.0.0.5",protocol="icmp",rack="r9",team="net"}"#))
        #expect(!page.contains("__meta_dc"))

        // The source fails for a while: the last good list stays and keeps being probed.
        try server.set("status", "500")
        #expect(agent.waitForLog("keeping its last good targets: HTTP 500", timeout: 10), "log:\n\(agent.log)")
        Thread.sleep(forTimeInterval: 3)
        page = Self.metrics(agent)
        #expect((Self.sample(page, "probeagent_sd_failures_total", [#"monitor="sd""#]) ?? 0) >= 3, "\(page.suffix(2000))")
        let during = try agent.status()
        #expect(Set(Self.targets(during, "sd").keys) == Set(original))
        for t in original { #expect((Self.targets(during, "sd")[t]?.sent ?? 0) >= (before[t]?.sent ?? 0) + 3, "\(t) probed on") }

        // It comes back with one target dropped and two added: applied; the others untouched.
        try server.set("body.json", #"[{"targets":["127.0.0.2","127.0.0.4","127.0.0.6"],"labels":{"site":"ams"}},{"targets":["127.0.0.5","127.0.0.7"],"labels":{"rack":"r9"}}]"#)
        try server.set("status", nil)
        let changed = ["127.0.0.2", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"]
        let after = try #require(agent.waitForStatus(timeout: 15) { s in
            let t = Self.targets(s, "sd")
            return Set(t.keys) == Set(changed) && (t["127.0.0.7"]?.sent ?? 0) >= 3
        }, "log:\n\(agent.log)")
        #expect(after.reloads.retargeted == ["sd"], "\(after.reloads)")
        let now = Self.targets(after, "sd")
        for t in ["127.0.0.2", "127.0.0.4", "127.0.0.5"] {
            #expect((now[t]?.sent ?? 0) >= (Self.targets(during, "sd")[t]?.sent ?? 0) + 3, "\(t): counters continue")
            let (p0, p1) = (Self.phase(before[t]), Self.phase(now[t]))
            // 150 ms: send jitter on a busy host stays well inside it; a re-phase moves a target by a
            // golden-ratio fraction of the cadence (127.0.0.4: index 2 → 1, ~380 ms).
            #expect(p0 != nil && p1 != nil && Self.phaseGap(p0!, p1!) <= 150, "\(t) stays on its grid: \(p0 ?? -1) → \(p1 ?? -1) ns")
        }
        page = Self.metrics(agent)
        #expect(!page.contains(#"target="127.0.0.3""#), "the dropped target's series are gone")
        #expect(page.contains(#"probe_sent_total{monitor="sd",target="127.0.0.6",protocol="icmp",site="ams",team="net"}"#))
        #expect(server.requests.contains("200") && server.requests.contains("500"))

        // The labels reached the store.
        var series: [[String: String]] = []
        for _ in 0..<30 {
            let q = "last_over_time(probe_success{monitor=\"sd\"}[10m])".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            if let d = try? Data(contentsOf: URL(string: "http://127.0.0.1:\(vmPort)/api/v1/query?query=\(q)")!) {
                struct R: Decodable { struct D: Decodable { struct S: Decodable { var metric: [String: String] }; var result: [S] }; var data: D }
                series = (try? JSONDecoder().decode(R.self, from: d))?.data.result.map(\.metric) ?? []
            }
            if series.contains(where: { $0["target"] == "127.0.0.7" }) { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(series.contains { $0["target"] == "127.0.0.2" && $0["site"] == "ams" && $0["team"] == "net" }, "\(series)")
        #expect(series.contains { $0["target"] == "127.0.0.7" && $0["rack"] == "r9" }, "\(series)")
        #expect(agent.stop() == 0)
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func fileSDAppliesAtomicAndInPlaceWritesOnceCompleteAndNamesAMalformedFile() throws {
        let sd = FileManager.default.temporaryDirectory.appendingPathComponent("file-sd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: sd, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: sd) }
        try #"[{"targets": ["127.0.0.2"], "labels": {"src": "a"}}]"#.write(to: sd.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try "not matched by the glob".write(to: sd.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let agent = try RunningAgent(config: """
            monitors:
              - id: files
                protocol: icmp
                cadence: 1s
                timeout: 300ms
                targets: [127.0.0.1]
                file_sd_configs:
                  - files: [\(sd.path)/*.json, \(sd.path)/*.yml]
            """)
        func targets() -> Set<String> { Set((try? agent.status().monitor("files")?.targets.map(\.target)) ?? []) }
        try #require(agent.waitForStatus(timeout: 20) { Set($0.monitor("files")?.targets.map(\.target) ?? []) == ["127.0.0.1", "127.0.0.2"] } != nil,
                     "log:\n\(agent.log)")

        // Written in place, with a pause mid-file long enough to be read half-written.
        let b = sd.appendingPathComponent("b.json")
        let fd = open(b.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        let half = #"[{"targets": ["127.0.0.3", "#, rest = #""127.0.0.4"]}]"#
        _ = half.withCString { write(fd, $0, strlen($0)) }
        #expect(agent.waitForLog("b.json:", timeout: 10), "the half file is read and refused; log:\n\(agent.log)")
        #expect(targets() == ["127.0.0.1", "127.0.0.2"], "a half-written file changes nothing")
        _ = rest.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        #expect(agent.waitForStatus(timeout: 10) { Set($0.monitor("files")?.targets.map(\.target) ?? []) == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"] } != nil)

        // A malformed file (YAML this time): named with its error, and nothing changes.
        try "- targets: [127.0.0.9]\n  labels: {bad-name: x}\n".write(to: sd.appendingPathComponent("c.yml"), atomically: true, encoding: .utf8)
        #expect(agent.waitForLog("\(sd.path)/c.yml:2:12: error: invalid label name 'bad-name'", timeout: 10), "log:\n\(agent.log)")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(targets() == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"])

        // Replaced atomically (rename): applied; a file removed takes its targets with it.
        try #"[{"targets": ["127.0.0.5"]}]"#.write(to: sd.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: b)
        #expect(agent.waitForStatus(timeout: 10) { Set($0.monitor("files")?.targets.map(\.target) ?? []) == ["127.0.0.1", "127.0.0.5"] } != nil,
                "log:\n\(agent.log)")
        let s = try agent.status()
        #expect(s.reloads.retargeted == ["files"])
        #expect((s.monitor("files")?.targets.first { $0.target == "127.0.0.1" }?.record?.sent ?? 0) >= 6, "the static target was never reset")
        #expect(agent.stop() == 0)
    }
}

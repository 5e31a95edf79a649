import AdminAPI
import Foundation
import Testing

/// /metrics, /health and /-/ready on the TCP listener, checked with curl, promtool and a real
/// Prometheus scraping the agent.
@Suite("probe-agent HTTP surfaces", .serialized, .timeLimit(.minutes(4)))
struct ServiceSurfaceTests {
    static func config(extra: String = "") -> String {
        """
        log_level: info
        monitors:
          - id: lo
            protocol: icmp
            cadence: 1s
            timeout: 500ms
            targets: [127.0.0.1, 127.0.0.2, "::1"]
            labels: {site: "lab \\"one\\"", role: edge}
          - id: closed
            protocol: tcp-connect
            port: 1
            cadence: 1s
            timeout: 300ms
            targets: [127.0.0.3]
            depends_on: [lo]
        \(extra)
        """
    }

    /// GET with curl: status code and body.
    static func get(_ url: String) throws -> (status: Int, body: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("get-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let out = try Tools.run(["curl", "-s", "-o", file, "-w", "%{http_code}", "--max-time", "30", url], timeout: 40)
        return (Int(out.stdout) ?? 0, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
    }

    static func sample(_ page: String, _ prefix: String) -> Double? {
        page.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("/metrics passes promtool, counts loss per reason, carries monitor labels and histograms")
    func metricsPage() throws {
        let agent = try RunningAgent(config: Self.config(extra: """
            metrics:
              rtt_buckets: [50us, 1ms, 100ms]
            """))
        let http = try #require(agent.waitForListeners(), "no listeners; log:\n\(agent.log)")
        _ = agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 9 && $0.sent("closed") >= 3 }
        let page = try Self.get("http://\(http)/metrics")
        #expect(page.status == 200)
        let file = agent.dir.appendingPathComponent("metrics.txt")
        try page.body.write(to: file, atomically: true, encoding: .utf8)
        let lint = try Tools.run(["/bin/sh", "-c", "promtool check metrics < \"$0\"", file.path], timeout: 60)
        #expect(lint.status == 0, "promtool: \(lint.stdout)\(lint.stderr)")

        let lo = #"{monitor="lo",target="127.0.0.2",protocol="icmp",role="edge",site="lab \"one\"""#
        let sent = try #require(Self.sample(page.body, "probe_sent_total\(lo)}"), "no sent series for 127.0.0.2:\n\(page.body.split(separator: "\n").filter { $0.contains("probe_sent") })")
        let replies = try #require(Self.sample(page.body, "probe_replies_total\(lo)}"))
        #expect(sent >= 3 && replies == sent, "loopback answers every probe")
        #expect(Self.sample(page.body, "probe_round_trip_seconds_bucket\(lo),le=\"+Inf\"}") == replies)
        #expect(page.body.contains("probe_round_trip_seconds_bucket\(lo),le=\"5e-05\"}"), "configured bucket bound")
        #expect(Self.sample(page.body, "probe_up\(lo)}") == 1)
        let closed = #"{monitor="closed",target="127.0.0.3",protocol="tcp-connect""#
        let closedSent = try #require(Self.sample(page.body, "probe_sent_total\(closed)}"))
        let refused = try #require(Self.sample(page.body, "probe_errors_total\(closed),reason=\"refused\"}"))
        #expect(closedSent >= 3 && refused == closedSent, "loss readable from counters: every connect refused")
        #expect(Self.sample(page.body, "probe_up\(closed)}") == 0)
        for name in ["probeagent_build_info{version=", "probeagent_scheduler_lateness_seconds_bucket",
                     "probeagent_send_lateness_seconds_bucket", "probeagent_engine_in_flight",
                     "probeagent_targets 4", "probeagent_monitor_down{monitor=\"closed\"} 1", "probeagent_config_reloads_total",
                     "probeagent_capabilities_dropped 1", "process_cpu_seconds_total"] {
            #expect(page.body.contains(name), "missing \(name)")
        }

        let health = try Self.get("http://\(http)/health")
        #expect(health.status == 200)
        let h = try JSONDecoder.admin.decode(HealthReply.self, from: Data(health.body.utf8))
        #expect(h.status == "ok" && h.mode == "normal" && h.backlog.spilledResults == 0)
        #expect(try Self.get("http://\(http)/-/ready").status == 200)
        #expect(try Self.get("http://\(http)/admin/reload").status == 404, "nothing that changes state on TCP")
        #expect(agent.stop() == 0)
    }

    @Test("per-target histograms can be switched off")
    func histogramsOff() throws {
        let agent = try RunningAgent(config: Self.config(extra: "metrics:\n  per_target_histograms: false\n"))
        let http = try #require(agent.waitForListeners(), "log:\n\(agent.log)")
        _ = agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 3 }
        let page = try Self.get("http://\(http)/metrics")
        #expect(page.status == 200 && page.body.contains("probe_sent_total{"))
        #expect(!page.body.contains("probe_round_trip_seconds"))
        #expect(page.body.contains("probe_last_rtt_seconds{"))
        #expect(agent.stop() == 0)
    }

    @Test("a port in use, or an admin socket another agent serves, stops the start with a clear error")
    func listenerConflicts() throws {
        let first = try RunningAgent(config: Self.config())
        let http = try #require(first.waitForListeners(), "log:\n\(first.log)")
        let sameSocket = try RunningAgent(config: Self.config(extra: "admin:\n  socket: \(first.socketPath)\n"))
        #expect(sameSocket.process.wait(timeout: 30) == 3)
        #expect(sameSocket.log.contains("another probe-agent is already serving \(first.socketPath)"), "log:\n\(sameSocket.log)")
        let samePort = try RunningAgent(config: Self.config(extra: "http:\n  listen: \(http)\n"))
        #expect(samePort.process.wait(timeout: 30) == 3)
        #expect(samePort.log.contains("http.listen \(http)"), "log:\n\(samePort.log)")
        #expect(first.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: first.socketPath), "socket removed at stop")
    }

    @Test("Debian's Prometheus scrapes the agent every 3 s and gets its series")
    func prometheusScrapes() throws {
        let agent = try RunningAgent(config: Self.config())
        let http = try #require(agent.waitForListeners(), "log:\n\(agent.log)")
        let port = try FakeStore.freePort()
        let name = "scrape\(getpid())"
        let script = Tools.root.appendingPathComponent("Tests/support/prometheus.sh").path
        let started = try Tools.run([script, "start", name, "\(port)", http], timeout: 90)
        try #require(started.status != 77, "Prometheus not installed: \(started.stderr)")
        try #require(started.status == 0, "prometheus.sh start: \(started.stderr)")
        defer { _ = try? Tools.run([script, "stop", name], timeout: 60) }
        let series = try #require(Self.scrapedSeries(port: port), "Prometheus never got probe_sent_total for ::1")
        #expect(series["protocol"] == "icmp" && series["role"] == "edge" && series["site"] == "lab \"one\"")
        let up = String(decoding: try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/api/v1/query?query=up")!), as: UTF8.self)
        #expect(up.contains(#""job":"probe-agent""#) && up.contains(#""1"]"#), "scrape target up: \(up)")
        #expect(agent.stop() == 0)
    }

    @Test("the example scrape config in config/ is valid for promtool")
    func exampleScrapeConfig() throws {
        let out = try Tools.run(["promtool", "check", "config", Tools.root.appendingPathComponent("config/prometheus-scrape.yml").path])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
    }

    /// The labels of `probe_sent_total` for ::1 once the Prometheus on `port` has scraped it
    /// (polled for at most 60 s), nil if it never did.
    static func scrapedSeries(port: Int) -> [String: String]? {
        let query = #"probe_sent_total{job="probe-agent",monitor="lo",target="::1"}"#
            .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let data = try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/api/v1/query?query=\(query)")!),
               let r = try? JSONDecoder().decode(PromQuery.self, from: data), let found = r.data.result.first?.metric {
                return found
            }
            sleep(1)
        }
        return nil
    }

    struct PromQuery: Decodable {
        struct D: Decodable { struct S: Decodable { var metric: [String: String] }; var result: [S] }
        var data: D
    }
}

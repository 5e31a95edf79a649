import Foundation
import Testing

/// The Grafana dashboards and the Prometheus rules against a real Prometheus (Debian's 2.42)
/// that scrapes a running agent and receives its results by remote write: every panel's
/// query, every variable's query and every rule's expression runs without error, every panel
/// and recording rule returns data, and every metric they name is one the agent exports.
@Suite(
    "Operations kit: dashboards and rules on a real Prometheus",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"),
             "Debian package prometheus missing: scripts/install-deps.sh"),
    .enabled(if: Tools.isRoot, "the agent needs CAP_NET_RAW for raw ICMP"))
struct OpsKitQueryTests {
    static let dashboards = ["probe-agent-fleet.json", "probe-agent-agent.json"]
        .map { Tools.root.appendingPathComponent("config/grafana/\($0)") }

    /// A query of a dashboard: its panel, and whether Grafana runs it as an instant query.
    struct PanelQuery { var where_: String; var expr: String; var instant: Bool }

    static func panelQueries(_ url: URL) throws -> (panels: [PanelQuery], variables: [PanelQuery]) {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var panels: [PanelQuery] = []
        func walk(_ list: [[String: Any]]) {
            for panel in list {
                let title = panel["title"] as? String ?? "?"
                for t in panel["targets"] as? [[String: Any]] ?? [] {
                    if let expr = t["expr"] as? String {
                        panels.append(PanelQuery(where_: "\(url.lastPathComponent) '\(title)' \(t["refId"] ?? "")", expr: expr,
                                                 instant: t["instant"] as? Bool ?? false))
                    }
                }
                walk(panel["panels"] as? [[String: Any]] ?? [])
            }
        }
        walk(json["panels"] as? [[String: Any]] ?? [])
        // label_values(SELECTOR, LABEL) becomes `count by (LABEL) (SELECTOR)`: data when the
        // variable would have values.
        var variables: [PanelQuery] = []
        let templating = json["templating"] as? [String: Any]
        for v in templating?["list"] as? [[String: Any]] ?? [] where v["type"] as? String == "query" {
            let q = (v["query"] as? [String: Any])?["query"] as? String ?? ""
            guard q.hasPrefix("label_values("), q.hasSuffix(")"), let comma = q.lastIndex(of: ",") else {
                Issue.record("variable \(v["name"] ?? "?"): not label_values(…): \(q)")
                continue
            }
            let selector = q[q.index(q.startIndex, offsetBy: "label_values(".count)..<comma]
            let label = q[q.index(after: comma)..<q.index(before: q.endIndex)].trimmingCharacters(in: .whitespaces)
            variables.append(PanelQuery(where_: "\(url.lastPathComponent) variable \(v["name"] ?? "?")",
                                        expr: "count by (\(label)) (\(selector))", instant: true))
        }
        return (panels, variables)
    }

    /// Metric names an expression reads (not recorded names, which have colons, nor functions).
    static func metricNames(_ expr: String) -> Set<String> {
        let re = try! NSRegularExpression(pattern: #"\b(?:probe|probeagent|process)_[a-z_]+\b(?![:(])"#)
        let ns = expr as NSString
        return Set(re.matches(in: expr, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range) })
    }

    @Test("every panel and rule query returns data from a scraped and remote-writing agent", .timeLimit(.minutes(4)))
    func everyQueryAnswers() async throws {
        let port = try FakeStore.freePort()
        let agentLabel = "kit-\(getpid())"
        // The packaged run's monitors and a path monitor with per-hop series, for the Paths panels.
        let agent = try RunningAgent(config: """
            \(PackagedAgentRun.monitors)
              - id: lo-path
                protocol: icmp
                cadence: 1s
                timeout: 500ms
                targets: [127.0.0.3]
                path: {max_hops: 4, every: 5s, per_hop_series: true}
            spill:
              dir: $DIR/spill
            remote_write:
              url: http://127.0.0.1:\(port)/api/v1/write
              flush_interval: 500ms
              external_labels:
                agent: \(agentLabel)
            """)
        defer { _ = agent.stop() }
        let instance = try #require(agent.waitForListeners(), "log:\n\(agent.log)")
        let name = "kit\(getpid())"
        let script = Tools.root.appendingPathComponent("Tests/support/prometheus.sh").path
        let started = try Tools.run([script, "start", name, "\(port)", instance], timeout: 90)
        try #require(started.status == 0, "prometheus.sh start: \(started.stderr)")
        defer { _ = try? Tools.run([script, "stop", name], timeout: 60) }
        let prom = Prometheus(base: "http://127.0.0.1:\(port)")

        // Ten scrapes (3 s apart) and the first remote-written results.
        let deadline = ContinuousClock.now.advanced(by: .seconds(90))
        var ready = false
        while !ready && ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(2))
            let scrapes = try? prom.instant("count_over_time(probeagent_build_info{instance=\"\(instance)\"}[1m])")
            let written = try? prom.instant("count(probe_success{agent=\"\(agentLabel)\"})")
            ready = (scrapes?.first?.value ?? 0) >= 10 && (written?.first?.value ?? 0) >= 3
        }
        try #require(ready, "Prometheus has not scraped and received enough; agent log:\n\(agent.log)")

        let substitutions = ["$__rate_interval": "30s", "$__interval": "15s", "$__range": "1m", "$job": "probe-agent",
                             "$instance": instance, "$monitor": ".*", "$target": ".*", "$agent": agentLabel]
        func resolve(_ expr: String) -> String {
            substitutions.reduce(expr) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
        }
        var problems: [String] = []
        var names = Set<String>()
        var count = 0
        for dashboard in Self.dashboards {
            let (panels, variables) = try Self.panelQueries(dashboard)
            #expect(panels.count >= 20, "\(dashboard.lastPathComponent): \(panels.count) queries")
            for q in panels + variables {
                count += 1
                names.formUnion(Self.metricNames(q.expr))
                let expr = resolve(q.expr)
                guard !expr.contains("$") else { problems.append("\(q.where_): unresolved variable in \(expr)"); continue }
                do {
                    let values = q.instant ? try prom.instant(expr).map(\.value) : try prom.range(expr, seconds: 30)
                    if !values.contains(where: \.isFinite) { problems.append("\(q.where_): no data for \(expr)") }
                } catch {
                    problems.append("\(q.where_): \(error)")
                }
            }
        }
        let kit = try RulesFile(OpsKitRulesTests.rules)
        for rule in kit.rules {
            count += 1
            names.formUnion(Self.metricNames(rule.expr))
            do {
                // Alerts are quiet on a healthy agent; recording rules must compute something.
                let values = try prom.instant(rule.expr).map(\.value)
                if !rule.isAlert && !values.contains(where: \.isFinite) { problems.append("rule \(rule.name): no data") }
            } catch {
                problems.append("rule \(rule.name): \(error)")
            }
        }
        let known = try Set(prom.metricNames())
        for missing in names.subtracting(known).sorted() { problems.append("no series named \(missing) in Prometheus") }
        #expect(problems.isEmpty, "\(problems.count) of \(count) queries:\n\(problems.joined(separator: "\n"))")
        print("operations kit: \(count) queries answered, naming \(names.count) metrics")
        #expect(agent.stop() == 0)
    }
}

/// Prometheus's HTTP API through curl (which shows a query error's body, not just its status).
struct Prometheus {
    let base: String

    struct Failure: Error, CustomStringConvertible { let description: String }
    struct Sample { var labels: [String: String]; var value: Double }

    private func get(_ path: String, _ params: [String: String]) throws -> [String: Any] {
        let args = params.sorted { $0.key < $1.key }.flatMap { ["--data-urlencode", "\($0.key)=\($0.value)"] }
        let out = try Tools.run(["curl", "-sS", "--max-time", "20", "-G"] + args + [base + path], timeout: 30)
        guard out.status == 0,
              let json = try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any] else {
            throw Failure(description: "curl \(path): exit \(out.status) \(out.stderr)\(out.stdout.prefix(300))")
        }
        guard json["status"] as? String == "success" else {
            throw Failure(description: "\(json["errorType"] ?? "error"): \(json["error"] ?? json)")
        }
        return json
    }

    private static func number(_ point: Any?) -> Double {
        guard let pair = point as? [Any], pair.count == 2, let s = pair[1] as? String else { return .nan }
        return Double(s) ?? .nan
    }

    func instant(_ expr: String) throws -> [Sample] {
        let data = try get("/api/v1/query", ["query": expr])["data"] as? [String: Any]
        if data?["resultType"] as? String == "scalar" { return [Sample(labels: [:], value: Self.number(data?["result"]))] }
        return (data?["result"] as? [[String: Any]] ?? []).map {
            Sample(labels: $0["metric"] as? [String: String] ?? [:], value: Self.number($0["value"]))
        }
    }

    /// Every value of every series over the last `seconds`, 3 s apart (a Grafana time series).
    func range(_ expr: String, seconds: Int) throws -> [Double] {
        let end = Date().timeIntervalSince1970
        let data = try get("/api/v1/query_range", ["query": expr, "start": "\(end - Double(seconds))", "end": "\(end)", "step": "3"])["data"]
            as? [String: Any]
        let series = data?["result"] as? [[String: Any]] ?? []
        return series.flatMap { s -> [Double] in
            let points: [Any] = s["values"] as? [Any] ?? []
            return points.map { Self.number($0) }
        }
    }

    func metricNames() throws -> [String] {
        try get("/api/v1/label/__name__/values", [:])["data"] as? [String] ?? []
    }
}

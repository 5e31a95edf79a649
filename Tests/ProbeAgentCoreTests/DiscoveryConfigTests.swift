import Testing
@testable import ProbeAgentCore

/// `targets` entries with labels, `file_sd_configs`, `http_sd_configs` and `shard` in agent.yaml.
@Suite("Discovery config")
struct DiscoveryConfigTests {
    static func load(_ yaml: String, env: [String: String] = [:]) throws(ConfigErrors) -> AgentConfig {
        try AgentConfig.load(yaml: yaml, file: "agent.yaml", environment: ConfigEnvironment(variables: env, hostname: "h"))
    }

    static func errors(_ yaml: String, env: [String: String] = [:]) -> [String] {
        do { _ = try load(yaml, env: env); return [] } catch { return error.errors.map(\.description) }
    }

    @Test func targetsMayCarryLabelsAndSourcesAndAShardReplaceOrJoinThem() throws {
        let c = try Self.load("""
            monitors:
              - id: m
                protocol: icmp
                labels: {site: ams}
                targets:
                  - 127.0.0.2
                  - {address: 127.0.0.3, labels: {rack: r1, site: fra}}
                file_sd_configs:
                  - files: [/etc/probe-agent/sd/*.json]
                    refresh_interval: 30s
                http_sd_configs:
                  - url: https://user:pw@inventory.example/targets?x=1
                    authorization: {credentials: token}
                    tls_config: {ca_file: /etc/ca.pem}
                shard:
                  count: 3
                  index: ${SHARD_INDEX}
              - id: only-discovered
                protocol: icmp
                http_sd_configs: [{url: "http://127.0.0.1:9/sd"}]
            """, env: ["SHARD_INDEX": "2"])
        let m = c.monitors[0]
        #expect(m.targets == ["127.0.0.2", "127.0.0.3"])
        #expect(m.targetLabels == ["127.0.0.3": ["rack": "r1", "site": "fra"]])
        #expect(m.seriesLabels(target: "127.0.0.3").map(\.1) == ["r1", "fra"])
        #expect(m.discovery.files == [.init(files: ["/etc/probe-agent/sd/*.json"], refreshInterval: .seconds(30))])
        #expect(m.discovery.http.first?.bearerToken == "token" && m.discovery.http.first?.tls.caFile == "/etc/ca.pem")
        #expect(m.discovery.http.first?.redactedURL == "https://inventory.example/targets")
        #expect(m.discovery.shard == .init(count: 3, index: 2))
        #expect(c.monitors[1].targets.isEmpty && c.monitors[1].discovery.http.first?.refreshInterval == .seconds(60))
    }

    @Test func mistakesAreErrorsWithPositions() {
        let errors = Self.errors("""
            monitors:
              - id: m
                protocol: icmp
                targets:
                  - {address: 127.0.0.3, labels: {monitor: x, ok: y}}
                  - {labels: {a: b}}
                file_sd_configs: [{files: [sd/*.json, "/a/*/b.json"]}]
                http_sd_configs: [{url: "ftp://x", basic_auth: {username: u, password: p}, authorization: {credentials: t}}]
                shard:
                  count: 3
                  index: ${SHARD_INDEX:-3}
              - id: n
                protocol: icmp
            """)
        let text = errors.joined(separator: "\n")
        #expect(text.contains("agent.yaml:5:39: error: label 'monitor' in labels of target '127.0.0.3'"), "\(text)")
        #expect(text.contains("agent.yaml:6:9: error: missing required key 'address'"), "\(text)")
        #expect(text.contains("file_sd path 'sd/*.json' must be absolute"))
        #expect(text.contains("only the file name may hold a glob"))
        #expect(text.contains("http_sd url 'ftp://x' must be an http:// or https:// URL"))
        #expect(text.contains("set basic_auth or authorization, not both"))
        #expect(text.contains("shard.index 3 in monitor 'm' must be less than shard.count 3"))
        #expect(text.contains("agent.yaml:12:5: error: missing required key 'targets' in monitor 'n'"), "\(text)")
    }
}

/// Per-target labels compose with `all_addresses`: every address of a name carries the name's labels.
@Suite("Per-target labels")
struct TargetLabelTests {
    @Test func anExpandedNameCarriesItsLabelsOnEveryAddressInMetricsAndResults() throws {
        let monitor = MonitorConfig(id: "m", probeProtocol: .icmp, targets: ["dual.test", "198.18.1.9"], labels: ["rack": "monitor"],
                                    allAddresses: true, targetLabels: ["dual.test": ["rack": "r7", "pod": "p1"]])
        var loop = ProbeLoop(config: ProbeLoopTests.config([monitor]), now: 0, shipping: true, statusInterval: ProbeLoopTests.s)
        loop.resolved(ResolvedNames(addresses: ["dual.test": [IPAddress("198.18.1.1")!, IPAddress("2001:db8::1")!]], failures: [:]), now: 0)
        var engine = ProbeLoopTests.FakeEngine()
        _ = ProbeLoopTests.run(&loop, &engine, from: 0, to: 3_100 * ProbeLoopTests.ms)
        let records = loop.takeResults()
        for address in ["198.18.1.1", "2001:db8::1"] {
            let r = try #require(records.first { $0.labels.contains { $0 == ("address", address) } })
            #expect(r.target == "dual.test")
            #expect(r.labels.map { "\($0.0)=\($0.1)" } == ["address=\(address)", "pod=p1", "rack=r7"])
        }
        #expect(records.first { $0.target == "198.18.1.9" }?.labels.map(\.1) == ["monitor"])
        var renderer = TargetMetricsRenderer(ledger: loop.ledger, schedule: loop.schedule, config: loop.config, labels: loop.seriesLabels)
        var page = ""
        while let chunk = renderer.nextChunk() { page += String(decoding: chunk, as: UTF8.self) }
        #expect(page.contains(#"probe_sent_total{monitor="m",target="dual.test",address="2001:db8::1",protocol="icmp",pod="p1",rack="r7"}"#), "\(page.prefix(800))")
        #expect(page.contains(#"probe_sent_total{monitor="m",target="198.18.1.9",protocol="icmp",rack="monitor"}"#))
    }
}

import Foundation
import Testing
@testable import ProbeAgentCore

@Suite struct ConfigLoadingTests {
    @Test func exampleConfigIsValidAndLoopbackOnly() throws {
        let path = repositoryRoot.appendingPathComponent("config/agent.yaml").path
        let config = try AgentConfig.load(contentsOf: path)
        #expect(config.monitors.count >= 3)
        #expect(Set(config.monitors.map(\.probeProtocol)) == Set(ProbeProtocol.allCases))
        for monitor in config.monitors {
            for target in monitor.targets {
                #expect(TargetAddress(parsing: target)?.isLoopback == true, "\(target) is not loopback")
            }
        }
        #expect(config.remoteWrite.first?.url.hasPrefix("http://127.0.0.1:") == true)
        #expect(config.http.listen.hasPrefix("127.0.0.1:"))
        #expect(config.scheduler.tick == .milliseconds(10))
    }

    @Test func defaultsApply() throws {
        let config = try AgentConfig.load(yaml: """
            defaults:
              labels: {team: net}
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1, "::1", localhost]
              - id: b
                protocol: tcp-connect
                targets: [127.0.0.1]
                port: 22
                cadence: 500ms
                labels: {team: web, tier: "1"}
                depends_on: [a]
            """, file: "t.yaml")
        let a = try #require(config.monitor(id: "a"))
        #expect(a.cadence == .seconds(3))
        #expect(a.timeout == .seconds(1))
        #expect(a.labels == ["team": "net"])
        #expect(a.port == nil)
        let b = try #require(config.monitor(id: "b"))
        #expect(b.timeout == .milliseconds(250))
        #expect(b.labels == ["team": "web", "tier": "1"])
        #expect(b.port == 22)
        #expect(b.dependsOn == ["a"])
        #expect(config.scheduler.tick == .milliseconds(10))
        #expect(config.scheduler.loopPriority == .normal)
        #expect(config.remoteWrite.isEmpty)
        #expect(config.logLevel == .info)
    }

    @Test func pipelineSectionsParse() throws {
        let config = try AgentConfig.load(yaml: """
            monitors: []
            scheduler: {tick: 5ms, max_probes_per_second: 5000, resolve_interval: 1m, loop_priority: realtime}
            queue: {mem_items_cap: 5000}
            spill: {dir: /tmp/spill, max_bytes: 64MiB, max_age: 1h30m, fsync_interval: 250ms}
            remote_write:
              url: https://127.0.0.1:9443/write
              headers: {X-A: b}
              bearer_token: tok
              tls: {ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem}
              external_labels: {dc: lab}
              samples_per_request: 500
              requests_in_flight: 8
              flush_interval: 2s
            http: {listen: "[::1]:9100"}
            admin: {socket: /tmp/admin.sock}
            log_level: debug
            """, file: "t.yaml")
        #expect(config.scheduler.tick == .milliseconds(5))
        #expect(config.scheduler.maxProbesPerSecond == 5000)
        #expect(config.scheduler.resolveInterval == .seconds(60))
        #expect(config.scheduler.loopPriority == .realtime)
        #expect(config.queue.memItemsCap == 5000)
        #expect(config.spill.maxBytes == 64 << 20)
        #expect(config.spill.maxAge == .seconds(5400))
        #expect(config.spill.fsyncInterval == .milliseconds(250))
        let rw = try #require(config.remoteWrite.first)
        #expect(rw.bearerToken == "tok" && rw.headers == ["X-A": "b"] && rw.externalLabels == ["dc": "lab"])
        #expect(rw.tls == .init(caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem"))
        #expect(rw.samplesPerRequest == 500 && rw.requestsInFlight == 8 && rw.flushInterval == .seconds(2))
        #expect(config.http.listen == "[::1]:9100")
        #expect(config.admin.socketPath == "/tmp/admin.sock")
        #expect(config.logLevel == .debug)
    }

    @Test func memoryQueueIsSizedFromTheTargetsUnlessSet() throws {
        let auto = QueueConfig()
        #expect(auto.memItemsCap == nil)
        #expect(auto.capacity(targets: 0) == 100_000 && auto.capacity(targets: 10_000) == 100_000)
        #expect(auto.capacity(targets: 10_001) == 100_010 && auto.capacity(targets: 200_000) == 2_000_000)
        let explicitAuto = try AgentConfig.load(yaml: "monitors: []\nqueue: {mem_items_cap: auto}\n", file: "t.yaml")
        #expect(explicitAuto.queue == auto)
        let set = try AgentConfig.load(yaml: "monitors: []\nqueue: {mem_items_cap: 5000}\n", file: "t.yaml")
        #expect(set.queue.capacity(targets: 200_000) == 5000, "a number is taken as it is")
        let errors = configErrors("monitors: []\nqueue: {mem_items_cap: 0}\n") + configErrors("monitors: []\nqueue: {mem_items_cap: Auto}\n")
        #expect(errors.map(\.message) == [
            "queue.mem_items_cap 0 is out of range 1..100000000",
            "expected an integer or 'auto' for queue.mem_items_cap, found a string",
        ])
    }

    @Test(arguments: [
        ("3s", 3_000_000_000), ("500ms", 500_000_000), ("1m", 60_000_000_000),
        ("1h30m", 5_400_000_000_000), ("1.5s", 1_500_000_000), ("250us", 250_000), ("10ns", 10),
    ] as [(String, Int64)])
    func durationsParse(text: String, nanos: Int64) {
        #expect(DurationParser.parse(text)?.nanosecondsValue == nanos)
        #expect(DurationParser.parse(DurationParser.format(.nanoseconds(nanos)))?.nanosecondsValue == nanos)
    }

    @Test func badDurationsAreRejected() {
        for text in ["", "3", "s", "3 s", "3sec", "1.2.3s", "-1s", "3s5", "99999999999999h"] {
            #expect(DurationParser.parse(text) == nil, "\(text)")
        }
    }

    @Test func addressesParse() {
        #expect(TargetAddress(parsing: "127.0.0.2") == .ipv4([127, 0, 0, 2]))
        #expect(TargetAddress(parsing: "::1") == .ipv6(Array(repeating: 0, count: 15) + [1]))
        #expect(TargetAddress(parsing: "::ffff:127.0.0.1") == .ipv6(Array(repeating: 0, count: 10) + [255, 255, 127, 0, 0, 1]))
        #expect(TargetAddress(parsing: "Probe-1.Example.ORG.") == .hostname("probe-1.example.org"))
        for bad in ["256.1.1.1", "1.2.3", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "::g", "-a.b", "a..b", "a_b", "1.2.3.4.5", ""] {
            #expect(TargetAddress(parsing: bad) == nil, "\(bad)")
        }
        #expect(TargetAddress(parsing: "localhost")?.isLoopback == true)
        #expect(TargetAddress(parsing: "127.255.0.1")?.isLoopback == true)
        #expect(TargetAddress(parsing: "128.0.0.1")?.isLoopback == false)
    }
}

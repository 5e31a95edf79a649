import Foundation
import FuzzSupport

/// Seed configs: the example and the package's conffile, and small documents that each reach
/// one part of the loader (every section, every target form, the errors it reports). Read from
/// the repository when seeds are written (Fuzz/ is inside it).
enum ConfigSeeds {
    static func all() throws -> [(name: String, bytes: [UInt8])] {
        let root = repositoryRoot()
        let example = try String(contentsOfFile: root + "/config/agent.yaml", encoding: .utf8)
        let packaged = try String(contentsOfFile: root + "/packaging/agent.yaml", encoding: .utf8)
        return [("example-agent.yaml", Array(example.utf8)), ("packaged-agent.yaml", Array(packaged.utf8))]
            + documents.map { ($0.name, Array($0.text.utf8)) } + hostile
    }

    /// Past the loader's limits, and not text.
    static let hostile: [(name: String, bytes: [UInt8])] = [
        // 5,000 nested lists overflowed Yams's stack before the depth limit.
        ("deep-nesting", Array(("monitors: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8)),
        ("depth-65-block", Array((0..<65).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined().utf8)),
        ("billion-laughs", Array((["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            + (1..<9).map { i in "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]" }
            + ["monitors: *a8"]).joined(separator: "\n").utf8)),
        ("not-utf8", Array("monitors:\n  - id: caf".utf8) + [0xC3, 0x28, 0xFF] + Array("\n".utf8)),
    ]

    static let documents: [(name: String, text: String)] = [
        ("minimal", "monitors:\n  - id: a\n    protocol: icmp\n    targets: [127.0.0.1]\n"),
        ("empty", ""),
        ("null-document", "~\n"),
        ("tcp-with-port", """
            monitors:
              - id: web
                protocol: tcp-connect
                targets: [127.0.0.1, "::1", localhost]
                port: 443
                cadence: 1.5s
                timeout: 250ms
            """),
        ("defaults-and-labels", """
            defaults: {cadence: 10s, timeout: 2s, labels: {site: fra1, rack: r1}}
            monitors:
              - id: fleet
                protocol: icmp
                targets:
                  - 198.18.1.1
                  - "2001:db8::1"
                  - host.example
                labels: {team: net}
            """),
        ("depends-on-cycle", """
            monitors:
              - {id: a, protocol: icmp, targets: [127.0.0.1], depends_on: [b]}
              - {id: b, protocol: icmp, targets: [127.0.0.2], depends_on: [a]}
            """),
        ("pipeline", """
            scheduler: {tick: 1ms, max_probes_per_second: 50000, resolve_interval: 1h, loop_priority: realtime}
            queue: {mem_items_cap: 200000}
            spill: {dir: /var/lib/probe-agent/spill, max_bytes: 512MiB, max_age: 24h, fsync_interval: 1s,
                    mode: on_failure, dead_letter_max_bytes: 1048576}
            remote_write:
              url: https://[::1]:8428/api/v1/write
              timeout: 10s
              headers: {X-Scope-OrgID: tenant}
              basic_auth: {username: agent, password_file: /etc/probe-agent/password}
              tls: {ca_file: /etc/ca.pem, cert_file: /etc/c.pem, key_file: /etc/k.pem}
              external_labels: {agent: a1}
              samples_per_request: 500
              requests_in_flight: 2
              flush_interval: 250ms
              backfill_rate: 1000
              fresh_first: true
              stall_timeout: 1m
            http: {listen: "[::1]:9469"}
            admin: {socket: /run/probe-agent/admin.sock}
            metrics: {per_target_histograms: false, rtt_buckets: [1ms, 10ms, 100ms]}
            log_level: debug
            monitors: [{id: a, protocol: icmp, targets: [127.0.0.1]}]
            """),
        ("process-section", """
            process: {user: probe-agent, group: probe-agent, run_as_root: false}
            monitors: [{id: a, protocol: icmp, targets: [127.0.0.1]}]
            """),
        ("bearer-token", """
            remote_write: {url: "http://127.0.0.1:9090/api/v1/write", bearer_token: secret}
            monitors: [{id: a, protocol: tcp-syn, port: 9, targets: ["::1"], depends_on: []}]
            """),
        ("errors-everywhere", """
            monitorz: []
            defaults: {cadence: 0s, timeout: 5s}
            monitors:
              - id: a
                protocol: udp
                targets: [999.1.1.1, "", 127.0.0.1]
                port: 70000
                cadence: 1h30m
                timeout: 2h
              - id: a
                protocol: tcp-syn
                targets: 127.0.0.1
            log_level: loud
            """),
        ("anchors-and-aliases", """
            x-common: &common {protocol: icmp, cadence: 5s}
            monitors:
              - {<<: *common, id: a, targets: &t [127.0.0.1, 127.0.0.2]}
              - {<<: *common, id: b, targets: *t}
            """),
        ("env-and-hostname", """
            defaults:
              labels: {host: "${HOSTNAME}", env: "${ENV:-dev}"}
            monitors:
              - id: a
                protocol: icmp
                targets: ["${TARGET:-127.0.0.1}", "${UNSET}", "${EMPTY:-x}"]
            """),
        ("names-and-families", """
            scheduler: {resolve_interval: 30s, resolve_timeout: 2s}
            monitors:
              - id: dual
                protocol: icmp
                targets: [localhost, "${TARGET}", "$$literal"]
                address_family: ipv6
                all_addresses: true
              - id: v4
                protocol: tcp-connect
                port: 80
                targets: [host.example]
                address_family: ipv4
            """),
        ("odd-scalars", """
            monitors:
              - id: !!str 123
                protocol: "icmp"
                targets: [0x7f000001, 127.1, "127.0.0.1 ", '::ffff:127.0.0.1', "fe80::1%lo"]
                cadence: 9223372036854775807ns
                timeout: 1.999999999999999999999s
            """),
        ("flow-document", "{monitors: [{id: m, protocol: tcp-syn, port: 1, targets: [\"::1\"]}], log_level: info}"),
        ("multi-document", "monitors: []\n---\nmonitors: []\n"),
        ("tabs-and-bom", "\u{FEFF}monitors:\n\t- id: a\n"),
    ]

    /// The repository this Fuzz/ directory is in (the seed writer runs from anywhere).
    static func repositoryRoot() -> String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/config/agent.yaml") { return url.path }
        }
        return "."
    }
}

import Foundation
import Testing

/// config/prometheus/probe-agent-rules.yml: valid for promtool, and its unit tests
/// (probe-agent-rules.test.yml) cover every alert firing and not firing, and fail when a rule
/// is broken.
@Suite(
    "Operations kit: Prometheus rules",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"),
             "promtool missing (Debian package prometheus): scripts/install-deps.sh"))
struct OpsKitRulesTests {
    static let rules = Tools.root.appendingPathComponent("config/prometheus/probe-agent-rules.yml")
    static let unitTests = Tools.root.appendingPathComponent("config/prometheus/probe-agent-rules.test.yml")

    @Test func promtoolChecksTheRules() throws {
        let kit = try RulesFile(Self.rules)
        let out = try Tools.run(["promtool", "check", "rules", Self.rules.path])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.stdout.contains("SUCCESS: \(kit.rules.count) rules found"), "\(out.stdout)")
        #expect(kit.alerts.count >= 14 && kit.rules.count - kit.alerts.count >= 4, "\(kit.rules.map(\.name))")
    }

    @Test func unitTestsPass() throws {
        let out = try Tools.run(["promtool", "test", "rules", Self.unitTests.path], timeout: 120)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
    }

    @Test("every alert is tested firing and not firing")
    func everyAlertBothWays() throws {
        let kit = try RulesFile(Self.rules)
        let lines = try String(contentsOf: Self.unitTests, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var firing = Set<String>(), silent = Set<String>()
        for (i, line) in lines.enumerated() where line.hasPrefix("alertname: ") {
            let name = String(line.dropFirst("alertname: ".count))
            let next = lines[(i + 1)...].first { !$0.isEmpty && !$0.hasPrefix("#") } ?? ""
            if next == "exp_alerts: []" { silent.insert(name) } else if next == "exp_alerts:" { firing.insert(name) }
        }
        for alert in kit.alerts.map(\.name) {
            #expect(firing.contains(alert), "\(alert) is never tested firing")
            #expect(silent.contains(alert), "\(alert) is never tested not firing")
        }
        #expect(firing.union(silent).subtracting(kit.alerts.map(\.name)).isEmpty, "tests for alerts the rules lack")
    }

    /// The unit tests bite: a loss threshold raised tenfold, or a monitor-down alert that no
    /// longer honours suppression, fails them, naming the alert.
    @Test func brokenRulesFailTheUnitTests() throws {
        let original = try String(contentsOf: Self.rules, encoding: .utf8)
        let mutations = [
            ("ProbeLossHigh", "probe_target:loss_ratio:rate5m > 0.05 and", "probe_target:loss_ratio:rate5m > 0.5 and"),
            ("ProbeMonitorDown", "probeagent_monitor_down == 1\n          unless on (job, instance, monitor) probeagent_monitor_suppressed == 1",
             "probeagent_monitor_down == 1"),
        ]
        for (alert, from, to) in mutations {
            #expect(original.contains(from), "mutation for \(alert) does not apply")
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            try original.replacingOccurrences(of: from, with: to)
                .write(to: dir.appendingPathComponent("probe-agent-rules.yml"), atomically: true, encoding: .utf8)
            let tests = dir.appendingPathComponent("probe-agent-rules.test.yml")
            try FileManager.default.copyItem(at: Self.unitTests, to: tests)
            let out = try Tools.run(["promtool", "test", "rules", tests.path], timeout: 120)
            #expect(out.status != 0, "\(alert) broken, yet the unit tests pass")
            #expect((out.stdout + out.stderr).contains("alertname: \(alert)"), "\(out.stdout)\(out.stderr)")
        }
    }
}

/// The rules of a Prometheus rules file, read line by line: each rule's name, kind and expr
/// (one line, or a `|` block).
struct RulesFile {
    struct Rule { var name: String; var isAlert: Bool; var expr: String }
    var rules: [Rule] = []
    var alerts: [Rule] { rules.filter(\.isAlert) }

    init(_ url: URL) throws {
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var current: (name: String, isAlert: Bool)?
        var i = 0
        while i < lines.count {
            let line = lines[i]
            let text = line.trimmingCharacters(in: .whitespaces)
            let indent = line.prefix { $0 == " " }.count
            for (key, isAlert) in [("- record: ", false), ("- alert: ", true)] where text.hasPrefix(key) {
                current = (String(text.dropFirst(key.count)), isAlert)
            }
            if text.hasPrefix("expr: "), let rule = current {
                var expr = String(text.dropFirst("expr: ".count))
                if expr == "|" {
                    var block: [String] = []
                    while i + 1 < lines.count,
                          lines[i + 1].trimmingCharacters(in: .whitespaces).isEmpty || lines[i + 1].prefix { $0 == " " }.count > indent {
                        i += 1
                        block.append(lines[i].trimmingCharacters(in: .whitespaces))
                    }
                    expr = block.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                }
                rules.append(Rule(name: rule.name, isAlert: rule.isAlert, expr: expr))
                current = nil
            }
            i += 1
        }
    }
}

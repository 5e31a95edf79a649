import Foundation
import Testing
@testable import ProbeAgentCore

/// Prometheus discovery answers (file_sd / http_sd): JSON and YAML lists of groups, with
/// every problem named by source, line and column, and limits.
@Suite("Discovery formats")
struct DiscoveryFormatTests {
    static func parse(_ text: String, limits: DiscoveryLimits = .standard) throws(ConfigErrors) -> [TargetGroup] {
        try TargetGroup.parse(Array(text.utf8), source: "sd.json", limits: limits)
    }

    static func error(_ text: String, limits: DiscoveryLimits = .standard) -> String {
        do { _ = try parse(text, limits: limits); return "" } catch { return error.description }
    }

    @Test func compactJSONAsGoWritesItAndYAMLBothParse() throws {
        let json = #"[{"targets":["127.0.0.2","127.0.0.3:9100","[::1]:80","db-1.example.org"],"labels":{"site":"ams","__meta_x":"dropped"}},{"targets":[]}]"#
        let groups = try Self.parse(json)
        #expect(groups == [TargetGroup(targets: ["127.0.0.2", "127.0.0.3", "::1", "db-1.example.org"], labels: ["site": "ams"]),
                           TargetGroup(targets: [])])
        #expect(TargetGroup.fastJSON(Array(json.utf8), limits: .standard) == groups, "Foundation's parse, taken when all is well")
        #expect(TargetGroup.fastJSON(Array(#"[{"targets": ["10.0.0.256"]}]"#.utf8), limits: .standard) == nil, "else the positioned way")
        let yaml = "- targets: [127.0.0.2]\n  labels:\n    rack: r1\n- targets:\n    - 127.0.0.4\n"
        #expect(try Self.parse(yaml) == [TargetGroup(targets: ["127.0.0.2"], labels: ["rack": "r1"]), TargetGroup(targets: ["127.0.0.4"])])
        #expect(try Self.parse("[]").isEmpty, "an empty list is an answer: no targets")
    }

    @Test func problemsAreNamedWithTheirPosition() {
        #expect(Self.error(#"[{"targets": ["127.0.0.2", "10.0.0.256"]}]"#).hasPrefix("sd.json:1:28: error: invalid target '10.0.0.256'"))
        #expect(Self.error("[{\"targets\": [\"127.0.0.2\"],\n  \"labels\": {\"bad-name\": \"x\"}}]").contains("sd.json:2:14: error: invalid label name 'bad-name'"))
        #expect(Self.error(#"[{"targets": ["127.0.0.2"], "labels": {"target": "x"}}]"#).contains("label 'target' collides"))
        #expect(Self.error(#"[{"targets": ["127.0.0.2"]"#).hasPrefix("sd.json:2:1: error: invalid YAML"), "a truncated file is a syntax error")
        #expect(Self.error(#"{"targets": ["127.0.0.2"]}"#).contains("expected a list of target groups"))
        #expect(Self.error("").contains("found an empty document"), "an empty file is not an empty list")
        #expect(Self.error(#"[{"target": ["127.0.0.2"]}]"#).contains("unknown key 'target'"))
    }

    @Test func limitsAreErrorsNamingTheLimit() {
        var limits = DiscoveryLimits()
        limits.maxTargets = 3
        #expect(Self.error(#"[{"targets": ["127.0.0.1", "127.0.0.2"]}, {"targets": ["127.0.0.3", "127.0.0.4"]}]"#, limits: limits)
            .contains("more than 3 targets"))
        limits.maxBytes = 10
        #expect(Self.error(#"[{"targets": []}]"#, limits: limits).contains("10 bytes"))
        limits = DiscoveryLimits()
        limits.maxGroups = 1
        #expect(Self.error(#"[{"targets": []}, {"targets": []}]"#, limits: limits).contains("over the limit of 1"))
        #expect(Self.error("[&a [1], *a]").contains("alias"))
    }

    @Test func aFailingSourceKeepsItsLastGoodListAndAnEmptyAnswerApplies() {
        var source = DiscoverySource(name: "http:x", refresh: .seconds(60), now: 0)
        #expect(source.isDue(now: 0))
        source.refreshing(now: 0)
        #expect(!source.isDue(now: 59 * secondNanos) && source.isDue(now: 60 * secondNanos))
        let good = [TargetGroup(targets: ["127.0.0.2", "127.0.0.3"])]
        let first = source.answered(part: "", good, now: 1)
        let same = source.answered(part: "", good, now: 2)
        #expect(first && !same, "the same answer again changes nothing")
        let failing = source.failed(part: "", "HTTP 500")
        let again = source.failed(part: "", "HTTP 500")
        let other = source.failed(part: "", "timeout")
        #expect(failing && !again && other, "the same failure again is only counted")
        #expect(source.groups == good && source.failures == 3 && source.targetCount == 2)
        let empty = source.answered(part: "", [], now: 3)
        #expect(empty)
        #expect(source.groups.isEmpty && source.failing.isEmpty && source.targetCount == 0)
    }

    @Test func fileWatchReadsAllFirstThenSettledChangesAndReportsVanishedFiles() {
        typealias S = CredentialFile.Stamp
        func stamp(_ n: Int64) -> S? { S(device: 1, inode: 1, size: n, modifiedNanos: n) }
        var watch = FileSDWatch(quietNanoseconds: secondNanos)
        #expect(watch.poll(["/a": stamp(1), "/b": stamp(1)], full: false, now: 0).read == ["/a", "/b"])
        watch.didRead("/a", stamp: stamp(1))
        watch.didRead("/b", stamp: stamp(1))
        #expect(watch.poll(["/a": stamp(2), "/b": stamp(1)], full: false, now: 100).read.isEmpty, "a change waits to settle")
        #expect(watch.poll(["/a": stamp(3), "/b": stamp(1)], full: false, now: 900 * msNanos).read.isEmpty, "still being written")
        #expect(watch.poll(["/a": stamp(3), "/b": stamp(1)], full: false, now: 1_950 * msNanos).read == ["/a"])
        watch.didRead("/a", stamp: stamp(3))
        let gone = watch.poll(["/a": stamp(3)], full: false, now: 2 * secondNanos)
        #expect(gone.vanished == ["/b"] && gone.read.isEmpty)
        #expect(watch.poll(["/a": stamp(3)], full: true, now: 3 * secondNanos).read == ["/a"], "the interval reads all")
        watch.didRead("/a", stamp: stamp(3))
        let renamed = S(device: 1, inode: 2, size: 3, modifiedNanos: 3)
        #expect(watch.poll(["/a": renamed], full: false, now: 3 * secondNanos + 1).read == ["/a"], "a rename into place is read at once")
    }
}

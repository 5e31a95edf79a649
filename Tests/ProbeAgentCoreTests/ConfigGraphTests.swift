import Foundation
import Testing
@testable import ProbeAgentCore

/// `depends_on` checks on graphs a recursive search could not survive, and the bounds on what
/// a hostile graph makes the loader report.
@Suite struct ConfigGraphTests {
    /// m0 ← m1 ← … ← m(n-1): each monitor depends on the one before it.
    static func chain(_ n: Int) -> [(id: String, dependsOn: [String])] {
        (0..<n).map { ("m\($0)", $0 == 0 ? [] : ["m\($0 - 1)"]) }
    }

    /// `count` one-line ICMP monitors, each depending on one other.
    static func monitorsYAML(_ count: Int, id: (Int) -> String, parent: (Int) -> String) -> String {
        "monitors:\n" + (0..<count).map {
            "  - {id: \(id($0)), protocol: icmp, targets: [127.0.0.1], depends_on: [\(parent($0))]}\n"
        }.joined()
    }

    @Test func aHundredThousandLongChainHasNoCycle() {
        let graph = DependencyGraph(Self.chain(100_000))
        #expect(graph.cycles().isEmpty)
    }

    @Test func aHundredThousandLongCycleIsFoundOnceAndShortened() {
        var nodes = Self.chain(100_000)
        nodes[0].dependsOn = ["m99999"]
        let cycles = DependencyGraph(nodes).cycles()
        #expect(cycles.count == 1)
        #expect(cycles.first?.count == 100_001)
        #expect(cycles.first?.first == "m0" && cycles.first?.last == "m0", "rotated to start at the first in file order")
        let text = DependencyGraph.describe(cycles[0])
        #expect(text == "m0 -> m99999 -> m99998 -> m99997 -> m99996 -> m99995 -> m99994 -> m99993 -> … 99990 more … -> m2 -> m1 -> m0")
    }

    @Test func reportedCyclesAreCapped() {
        // m0 depends on m19999, closing the chain; the search goes m0, m19999, … m1, and m1
        // also depends on every monitor above it on that path: 19,999 cycles, 2·10⁸ ids.
        var nodes = Self.chain(20_000)
        nodes[0].dependsOn = ["m19999"]
        nodes[1].dependsOn += (2..<20_000).map { "m\($0)" }
        let cycles = DependencyGraph(nodes).cycles()
        #expect(cycles.count == DependencyGraph.maxReportedCycles)
        #expect(Set(cycles).count == cycles.count, "each reported once")
    }

    @Test func duplicateIdsDoNotTrap() {
        let graph = DependencyGraph([("a", ["b"]), ("a", []), ("b", ["a"])])
        #expect(graph.cycles() == [["a", "b", "a"]])
    }

    @Test func smallCyclesReadAsBefore() {
        let graph = DependencyGraph([("c", ["a"]), ("a", ["b"]), ("b", ["c"]), ("d", ["d"]), ("e", ["a"])])
        #expect(graph.cycles() == [["c", "a", "b", "c"], ["d", "d"]])
        #expect(DependencyGraph.describe(["c", "a", "b", "c"]) == "c -> a -> b -> c")
    }

    /// The loader end to end on a 20k-monitor depends_on chain closed into a cycle (20k keeps
    /// the debug build's YAML parse to a few seconds; the search itself is linear, see above).
    @Test func theLoaderReportsALongCycleAsOneLine() {
        let errors = configErrors(Self.monitorsYAML(20_000, id: { "m\($0)" }, parent: { "m\($0 == 0 ? 19_999 : $0 - 1)" }))
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasPrefix("dependency cycle: m0 -> m19999 -> m19998") == true)
        #expect((errors.first?.message.count ?? .max) < 200)
        #expect(errors.first?.position == "2:65")
    }

    @Test func unknownParentsGetSuggestionsOnlyForTheFirstHundred() {
        let errors = configErrors(Self.monitorsYAML(300, id: { "mon\($0)" }, parent: { "mon\($0)x" }))
        #expect(errors.count == 300)
        #expect(errors.filter { $0.message.contains("did you mean") }.count == 100)
    }

    @Test func suggestionsSkipCandidatesOfAFarLength() {
        #expect(EditDistance.suggestion(for: "cadance", among: ["cadence", String(repeating: "c", count: 100_000)]) == "cadence")
        #expect(EditDistance.suggestion(for: String(repeating: "k", count: 1_000_000), among: AgentConfig.topLevelKeys) == nil)
    }
}

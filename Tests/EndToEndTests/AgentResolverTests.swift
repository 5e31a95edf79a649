import AdminAPI
import Foundation
import Testing

/// Hostname targets are re-resolved in the background; a failed lookup keeps the last good
/// address and is reported, and never stops the agent.
@Suite("probe-agent re-resolves hostnames")
struct AgentResolverTests {
    @Test(.enabled(if: Tools.isRoot, "needs root for a private mount namespace and raw ICMP"), .timeLimit(.minutes(3)))
    func followsAddressChangesAndKeepsLastGoodOnFailure() throws {
        let hosts = FileManager.default.temporaryDirectory.appendingPathComponent("pa-hosts-\(getpid())")
        // In-place writes (not atomic renames): the bind mount follows the file's inode.
        func setHosts(_ text: String) throws {
            let h = try FileHandle(forWritingTo: hosts)
            try h.truncate(atOffset: 0)
            try h.write(contentsOf: Data(text.utf8))
            try h.close()
        }
        FileManager.default.createFile(atPath: hosts.path, contents: Data("127.0.0.1 localhost\n127.0.0.7 probe-target.test\n".utf8))
        defer { try? FileManager.default.removeItem(at: hosts) }
        let cfg = """
            scheduler:
              resolve_interval: 1s
            monitors:
              - id: named
                protocol: icmp
                cadence: 1s
                targets: [probe-target.test, never-resolves.invalid, 127.0.0.1]
            """
        let agent = try RunningAgent(config: cfg, hostsFile: hosts)
        func target(_ s: AgentStatus, _ name: String) -> AgentStatus.Target? {
            s.monitor("named")?.targets.first { $0.target == name }
        }
        let first = try #require(agent.waitForStatus(timeout: 15) { (target($0, "probe-target.test")?.record?.ok ?? 0) >= 1 },
                                 "log:\n\(agent.log)")
        #expect(target(first, "probe-target.test")?.address == "127.0.0.7")
        #expect(first.resolverFailures["never-resolves.invalid"] != nil)
        #expect(target(first, "never-resolves.invalid")?.record?.lastOutcome == .unresolved)
        #expect((target(first, "127.0.0.1")?.record?.ok ?? 0) >= 1, "one bad name stops nothing")

        try setHosts("127.0.0.1 localhost\n127.0.0.8 probe-target.test\n")
        let moved = agent.waitForStatus(timeout: 10) { target($0, "probe-target.test")?.address == "127.0.0.8" }
        #expect(moved.flatMap { target($0, "probe-target.test")?.address } == "127.0.0.8")

        try setHosts("127.0.0.1 localhost\n")
        let failing = agent.waitForStatus(timeout: 10) { $0.resolverFailures["probe-target.test"] != nil }
        let f = try #require(failing)
        #expect(f.resolverFailures["probe-target.test"] != nil)
        #expect(target(f, "probe-target.test")?.address == "127.0.0.8", "keeps the last good address")
        let okBefore = target(f, "probe-target.test")?.record?.ok ?? 0
        Thread.sleep(forTimeInterval: 2.2)
        #expect((target(try agent.status(), "probe-target.test")?.record?.ok ?? 0) > okBefore, "still probed")
        #expect(agent.stop() == 0)
        #expect(agent.log.contains("cannot resolve target 'probe-target.test'"))
    }
}

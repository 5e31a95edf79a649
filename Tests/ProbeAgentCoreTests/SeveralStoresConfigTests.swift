import Testing
@testable import ProbeAgentCore

/// `remote_write` as a list: each endpoint its own options and a unique name (by default the
/// URL's host and port); a mapping is still one endpoint.
@Suite("remote_write: several stores")
struct SeveralStoresConfigTests {
    static let monitors = "monitors:\n  - id: a\n    protocol: icmp\n    targets: [127.0.0.1]\n"

    @Test func aListGivesEachEndpointItsOwnOptionsAndName() throws {
        let c = try AgentConfig.load(yaml: Self.monitors + """
            remote_write:
              - name: central
                url: https://vm.example:8428/api/v1/write
                timeout: 5s
              - url: http://127.0.0.1:9090/api/v1/write
                backfill_rate: 500
            """, file: "a.yaml")
        #expect(c.remoteWrite.map(\.name) == ["central", "127.0.0.1_9090"])
        #expect(c.remoteWrite.map(\.timeout) == [.seconds(5), .seconds(10)])
        #expect(c.remoteWrite.map(\.backfillRate) == [20_000, 500])
        let one = try AgentConfig.load(yaml: Self.monitors + "remote_write:\n  url: http://[::1]:8428/write\n", file: "a.yaml")
        #expect(one.remoteWrite.map(\.name) == ["___1__8428"], "a mapping is one endpoint, named after its URL")
    }

    @Test func defaultNamesComeFromHostAndPort() {
        #expect(RemoteWriteConfig.defaultName(url: "http://127.0.0.1:8428/api/v1/write") == "127.0.0.1_8428")
        #expect(RemoteWriteConfig.defaultName(url: "https://user:pw@mimir.example/api/v1/push") == "mimir.example")
        #expect(RemoteWriteConfig.isValidName(RemoteWriteConfig.defaultName(url: "http://.hidden:1/")))
    }

    @Test func namesMustBeUniqueAndValidAndSeveralNeedWriteAhead() {
        let same = configErrors(Self.monitors + """
            remote_write:
              - url: http://127.0.0.1:9090/a
              - url: http://127.0.0.1:9090/b
            """)
        #expect(same.contains { $0.line == 7 && $0.message.contains("remote_write[1] is named '127.0.0.1_9090' like remote_write[0]; names must be unique") },
                "\(same)")
        let bad = configErrors(Self.monitors + "remote_write:\n  - name: a/b\n    url: http://127.0.0.1:1/w\n")
        #expect(bad.contains { $0.line == 6 && $0.message.contains("remote_write[0].name 'a/b' must be 1 to 64 of") }, "\(bad)")
        let onFailure = configErrors("spill:\n  mode: on_failure\n" + Self.monitors + """
            remote_write:
              - url: http://127.0.0.1:1/w
              - url: http://127.0.0.1:2/w
            """)
        #expect(onFailure.contains { $0.message.contains("several remote_write endpoints need spill.mode: write_ahead") }, "\(onFailure)")
        let empty = configErrors(Self.monitors + "remote_write: []\n")
        #expect(empty.contains { $0.message.contains("remote_write is an empty list") }, "\(empty)")
        let item = configErrors(Self.monitors + "remote_write:\n  - url: ftp://x\n")
        #expect(item.contains { $0.message.contains("remote_write[0].url 'ftp://x' must be an http:// or https:// URL") }, "\(item)")
    }
}

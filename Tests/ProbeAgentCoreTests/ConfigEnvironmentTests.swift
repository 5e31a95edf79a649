import ProbeAgentCore
import Testing

/// `${VAR}` / `${VAR:-default}` / `$$` in config values, and the default `agent` label: one
/// file for a whole fleet.
@Suite("Config environment substitution")
struct ConfigEnvironmentTests {
    static let env = ConfigEnvironment(variables: ["SITE": "fra1", "EMPTY": "", "PORT": "9469"], hostname: "probe-17")

    static func load(_ yaml: String) throws(ConfigErrors) -> AgentConfig {
        try AgentConfig.load(yaml: yaml, file: "agent.yaml", environment: env)
    }

    @Test func valuesExpandFromTheEnvironmentWithDefaultsAndHostname() throws {
        let c = try Self.load("""
            monitors:
              - id: m-${SITE}
                protocol: tcp-connect
                port: ${PORT}
                targets: [127.0.0.1]
                labels: {site: "${SITE}", rack: "${RACK:-r1}", blank: "${EMPTY:-none}", host: "${HOSTNAME}", price: "$$5 $x"}
            remote_write:
              url: http://127.0.0.1:8428/api/v1/write
              external_labels: {agent: "${HOSTNAME}", dc: "${DC:-}x"}
            """)
        let m = try #require(c.monitors.first)
        #expect(m.id == "m-fra1")
        #expect(m.port == 9469, "an expanded number is still a number")
        #expect(m.labels == ["site": "fra1", "rack": "r1", "blank": "none", "host": "probe-17", "price": "$5 $x"])
        #expect(c.remoteWrite.first?.externalLabels == ["agent": "probe-17", "dc": "x"])
    }

    @Test func externalLabelsDefaultToTheHostNameUnlessSet() throws {
        let url = "remote_write: {url: http://127.0.0.1:8428/api/v1/write"
        let none = try Self.load("monitors: [{id: m, protocol: icmp, targets: [127.0.0.1]}]\n\(url)}")
        #expect(none.remoteWrite.first?.externalLabels == ["agent": "probe-17"])
        let optOut = try Self.load("monitors: [{id: m, protocol: icmp, targets: [127.0.0.1]}]\n\(url), external_labels: {}}")
        #expect(optOut.remoteWrite.first?.externalLabels == [:])
        let hostFromEnv = try AgentConfig.load(yaml: "monitors: [{id: m, protocol: icmp, targets: [127.0.0.1]}]\n\(url)}", file: "a",
                                               environment: ConfigEnvironment(variables: ["HOSTNAME": "from-env"], hostname: "h"))
        #expect(hostFromEnv.remoteWrite.first?.externalLabels == ["agent": "from-env"])
    }

    @Test func unsetVariablesAndBadSyntaxAreErrorsAtTheirPosition() {
        let bad = #expect(throws: ConfigErrors.self) {
            try Self.load("""
                monitors:
                  - id: m
                    protocol: icmp
                    targets: ["${TARGET}"]
                    labels: {a: "${9X}", b: "${SITE"}
                """)
        }
        let text = bad?.errors.map(\.description).joined(separator: "\n") ?? ""
        #expect(text.contains("agent.yaml:4:15: error: environment variable 'TARGET' is not set; set it (e.g. in /etc/default/probe-agent) or give a default: ${TARGET:-value}"), "\(text)")
        #expect(text.contains("agent.yaml:5:17: error: invalid variable name '9X'"), "\(text)")
        #expect(text.contains("agent.yaml:5:29: error: unterminated '${' in '${SITE'"), "\(text)")
    }

    @Test func keysAreNotExpanded() {
        let bad = #expect(throws: ConfigErrors.self) { try Self.load("monitors: []\n${SITE}: 1\n") }
        #expect(bad?.errors.first?.description.contains("unknown key '${SITE}'") == true, "\(bad?.errors ?? [])")
    }
}

import ProbeAgentCore
import Testing

/// Integers in a config are YAML 1.2's (decimal, 0x, 0o): never YAML 1.1's sexagesimal
/// `1:30` = 90, which Yams multiplies out unchecked. A long one trapped the loader (found by
/// Fuzz/fuzz-config: Fuzz/corpus/config/crash-yams-sexagesimal-int-overflow).
@Suite struct YAMLNumberTests {
    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try AgentConfig.load(yaml: yaml, file: "t.yaml", environment: ConfigEnvironment(variables: [:], hostname: "h"))
            return []
        } catch {
            return error.errors.map(\.message)
        }
    }

    static func monitor(port: String) -> String {
        "monitors: [{id: m, protocol: tcp-connect, port: \(port), targets: [127.0.0.1]}]"
    }

    @Test func aSexagesimalNumberIsNotAnIntegerHoweverLong() {
        let long = Array(repeating: "99", count: 12).joined(separator: ":")
        for port in ["1:30", long, "-" + long] {
            #expect(Self.errors(Self.monitor(port: port)) == ["expected an integer for port, found a string"], "\(port)")
        }
        #expect(Self.errors("queue: {mem_items_cap: \(long)}").contains { $0.hasPrefix("expected an integer or 'auto' for queue.mem_items_cap") })
        #expect(Self.errors("spill: {max_bytes: \(long)}").contains { $0.hasPrefix("invalid size '\(long)'") })
        #expect(Self.errors(Self.monitor(port: "0x1F")).isEmpty)
    }

    @Test func aURLWhereAMappingBelongsIsAString() {
        #expect(Self.errors("remote_write: http://127.0.0.1:9090/api/v1/write\nmonitors: []")
            .contains("expected a mapping for remote_write, found a string"))
    }
}

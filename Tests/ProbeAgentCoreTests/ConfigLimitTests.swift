import Foundation
import TestSupport
import Testing
@testable import ProbeAgentCore

/// Hostile documents: each refused before Yams builds a tree, fast, naming the limit and where.
@Suite struct ConfigLimitTests {
    /// The errors loading a file gives (empty if it loaded).
    static func fileErrors(_ path: String, limits: ConfigLimits = .standard) -> [ConfigError] {
        do {
            _ = try AgentConfig.load(contentsOf: path, limits: limits)
            return []
        } catch {
            return error.errors
        }
    }

    @Test func fiveThousandNestedListsAreRefusedAtTheSixtyFifthLevel() {
        var errors: [ConfigError] = []
        let elapsed = HostileConfigs.seconds { errors = configErrors(HostileConfigs.nestedLists(5000)) }
        #expect(errors.map(\.message) == ["lists and mappings nest deeper than 64 levels here (the limit for config files)"])
        // Line 2, "x: " then 63 lists (the top-level mapping is the first level): the 64th '['.
        #expect(errors.first?.position == "2:67")
        #expect(elapsed < 1, "took \(elapsed) s")
    }

    @Test func nestingUpToTheLimitIsNotALimitError() {
        // 63 lists under the top-level mapping: depth 64, within the limit; only the unknown key is wrong.
        let errors = configErrors(HostileConfigs.nestedLists(63))
        #expect(errors.map(\.message) == ["unknown key 'x' in the top level"])
    }

    @Test func deepBlockNestingCountsToo() {
        // Block style, one mapping per line and level: `k:` 70 times, each indented further.
        let yaml = "monitors: []\n" + (0..<70).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " 1\n"
        let errors = configErrors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("deeper than 64 levels") == true)
        // Line 1 opens the top-level mapping; the value of line n's key is a mapping from line
        // n + 1 at depth n, so the 65th level starts on line 66.
        #expect(errors.first?.position == "66:65", "\(errors)")
    }

    @Test func billionLaughsIsRefusedByTheExpansionLimit() {
        var errors: [ConfigError] = []
        let elapsed = HostileConfigs.seconds { errors = configErrors(HostileConfigs.billionLaughs) }
        #expect(errors.count == 1)
        // a0 is 11 nodes, a1 111, … a4 111111: the expansion passes 10⁶ while a5 is being built.
        #expect(errors.first?.message == "aliases stand for more than 1000000 nodes in all (the limit for config files), *a4 alone for 111111")
        #expect(errors.first?.line == 6)
        #expect(elapsed < 1, "took \(elapsed) s")
    }

    @Test func aliasCountIsLimited() {
        // 10,001 uses of a one-scalar anchor: 10,001 nodes, far below the expansion limit.
        let yaml = "monitors: []\nv: &v x\nlist: [" + Array(repeating: "*v", count: 10_001).joined(separator: ", ") + "]\n"
        let errors = configErrors(yaml)
        #expect(errors.map(\.message) == ["more than 10000 aliases (*name) in one config file (the limit), at *v"])
        #expect(errors.first?.line == 3)
    }

    @Test func aliasesCannotNestDeeperThanTheLimit() {
        // 40 levels anchored, then used 40 levels down: each part is fine, together 81 deep.
        let deep = String(repeating: "[", count: 40) + "x" + String(repeating: "]", count: 40)
        let yaml = "monitors: []\na: &deep \(deep)\nb: " + String(repeating: "[", count: 40) + "*deep" + String(repeating: "]", count: 40) + "\n"
        let errors = configErrors(yaml)
        #expect(errors.map(\.message) == ["*deep nests lists and mappings deeper than 64 levels (the limit for config files)"])
    }

    @Test func raisedLimitsCountAliasesOfAliasesWithoutOverflow() {
        // Thirty levels of ten: 10³⁰ nodes, past Int.max; with no expansion limit the count
        // saturates instead of trapping, and only the (raised) alias count stops it.
        var yaml = "a0: &a0 [x]\n"
        for level in 1..<30 { yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let limits = ConfigLimits(maxAliases: 250, maxAliasExpansion: .max)
        let violation = YAMLLimitScan.firstViolation(yaml + "monitors: []\n", file: "x.yaml", limits: limits)
        #expect(violation?.message == "more than 250 aliases (*name) in one config file (the limit), at *a25")
    }

    @Test func ordinaryAliasesStillWork() throws {
        let config = try AgentConfig.load(yaml: """
            defaults:
              labels: &common {team: net}
            monitors:
              - id: a
                protocol: icmp
                targets: &lo [127.0.0.1]
                labels: *common
              - id: b
                protocol: icmp
                targets: *lo
            """, file: "agent.yaml")
        #expect(config.monitors.map(\.targets) == [["127.0.0.1"], ["127.0.0.1"]])
        #expect(config.monitors[0].labels == ["team": "net"])
    }

    @Test func textOverTheSizeLimitIsRefusedUnparsed() {
        let limits = ConfigLimits(maxBytes: 1024)
        let yaml = "monitors: []\n# " + String(repeating: "x", count: 2000) + "\n"
        #expect(throws: ConfigErrors.self) { try AgentConfig.load(yaml: yaml, file: "big.yaml", limits: limits) }
        do {
            _ = try AgentConfig.load(yaml: yaml, file: "big.yaml", limits: limits)
        } catch {
            #expect(error.errors.map(\.description) == ["big.yaml:0:0: error: config file is 2016 bytes, over the limit for config files of 1 KiB (1024 bytes)"])
        }
    }

    @Test func fiftyMegabyteFileIsRefusedFromItsSize() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HostileConfigs.writeSparse(path, bytes: 50 << 20)
        var errors: [ConfigError] = []
        let elapsed = HostileConfigs.seconds {
            errors = Self.fileErrors(path)
        }
        #expect(errors.map(\.message) == ["config file is 52428800 bytes, over the limit for config files of 16 MiB (16777216 bytes)"])
        #expect(elapsed < 1, "took \(elapsed) s")
    }

    @Test func endlessDeviceIsReadOnlyUpToTheLimit() {
        // /dev/zero has no size to refuse: reading stops one byte past the limit.
        var errors: [ConfigError] = []
        let elapsed = HostileConfigs.seconds {
            errors = Self.fileErrors("/dev/zero", limits: ConfigLimits(maxBytes: 1 << 20))
        }
        #expect(errors.map(\.message) == ["config file goes on past 1048576 bytes, over the limit for config files of 1 MiB (1048576 bytes)"])
        #expect(elapsed < 1)
    }

    @Test func bytesThatAreNotUTF8AreRefusedAtTheFirstBadByte() {
        let bytes = Array("monitors: []\nx: caf".utf8) + [0xE9] + Array("\n".utf8)
        do {
            _ = try AgentConfig.load(bytes: bytes, file: "latin1.yaml")
            Issue.record("latin-1 text loaded")
        } catch {
            #expect(error.errors.map(\.description) == ["latin1.yaml:2:7: error: config is not UTF-8 text: byte 0xE9 at byte offset 19 starts no valid character"])
        }
    }

    @Test func controlCharactersGetALineAndColumn() {
        let errors = configErrors("monitors: []\nx: a\u{01}b\n")
        #expect(errors.count == 1)
        #expect(errors.first?.position == "2:5", "\(errors)")
        #expect(errors.first?.message.hasPrefix("invalid YAML: control characters are not allowed") == true, "\(errors)")
    }

    /// What the 16 MiB limit is measured against: the largest realistic file, 100k monitors of
    /// one target each with labels, is about 10.6 MB, and loads.
    @Test func aHundredThousandMonitorFileIsWithinTheLimits() throws {
        var yaml = "monitors:\n"
        for m in 0..<100_000 {
            yaml += "  - id: host-\(m)\n    protocol: icmp\n    labels: {site: site-\(m % 50), role: edge}\n"
            yaml += "    targets: [10.\((m >> 16) & 255).\((m >> 8) & 255).\(m & 255)]\n"
        }
        #expect(yaml.utf8.count > 9_000_000 && yaml.utf8.count < ConfigLimits.standard.maxBytes)
        #expect(YAMLLimitScan.firstViolation(yaml, file: "big.yaml", limits: .standard) == nil)
    }
}

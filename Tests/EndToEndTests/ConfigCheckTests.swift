import Foundation
import Testing

/// The `agentctl config check --json` document.
private struct CheckReport: Decodable {
    struct Diagnostic: Decodable, Equatable { var file: String; var line: Int; var column: Int; var message: String }
    struct File: Decodable {
        var file: String; var ok: Bool; var monitors: Int?; var targets: Int?; var discoverySources: Int?; var errors: [Diagnostic]
    }
    var files: [File]

    static func parse(_ text: String) throws -> CheckReport {
        try JSONDecoder().decode(CheckReport.self, from: Data(text.utf8))
    }
}

/// A fresh temporary directory, removed when the value is dropped by `defer { dir.remove() }`.
private struct TempDir {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("agentctl-config-check-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }

    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// One mistake of each kind the brief names; positions are 1-based line:column of the offending node.
private let badConfig = """
    log_level: info
    defaults:
      cadance: 3s
    monitors:
      - id: a
        protocol: icmp
        targets: [127.0.0.1]
        cadence: 3 seconds
        depends_on: [b]
      - id: b
        protocol: icmp
        targets: [127.0.0.1]
        depends_on: [a]
      - id: a
        protocol: icmp
        targets: [127.0.0.2]
      - id: web
        protocol: tcp-connect
        targets: [127.0.0.1]
        port: 70000

    """

/// (line, column, message) expected for `badConfig`, in file order.
private let badConfigErrors: [(Int, Int, String)] = [
    (3, 3, "unknown key 'cadance' in defaults; did you mean 'cadence'?"),
    (8, 14, "invalid duration '3 seconds' for cadence; use a number with a unit (ns, us, ms, s, m, h), e.g. 3s, 500ms, 1h30m"),
    (9, 18, "dependency cycle: a -> b -> a"),
    (14, 9, "duplicate monitor id 'a' (first defined at line 5)"),
    (20, 11, "port 70000 is out of range 1..65535"),
]

private let goodConfig = """
    monitors:
      - id: lo
        protocol: icmp
        targets: [127.0.0.1, "::1"]
      - id: web
        protocol: tcp-connect
        targets: [127.0.0.1]
        port: 8080
        depends_on: [lo]

    """

@Suite("agentctl config check")
struct ConfigCheckTests {
    @Test func exampleConfigIsValid() throws {
        let example = Tools.root.appendingPathComponent("config/agent.yaml").path
        let out = try Tools.run([Tools.agentctl, "config", "check", example])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("\(example): ok ("), "\(out.stdout)")
        #expect(out.stdout.range(of: #": ok \(\d+ monitors?, \d+ targets?\)"#, options: .regularExpression) != nil)
        #expect(out.stderr.isEmpty, "\(out.stderr)")
    }

    @Test func countsMonitorsAndTargets() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let good = try dir.write("good.yaml", goodConfig)
        let out = try Tools.run([Tools.agentctl, "config", "check", good])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "\(good): ok (2 monitors, 3 targets)\n")
    }

    @Test func printsEveryErrorWithItsPosition() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bad = try dir.write("bad.yaml", badConfig)
        let out = try Tools.run([Tools.agentctl, "config", "check", bad])
        #expect(out.status == 1)
        let expected = badConfigErrors.map { "\(bad):\($0.0):\($0.1): error: \($0.2)" }
            + ["\(bad): \(badConfigErrors.count) errors"]
        #expect(out.stderr.split(separator: "\n").map(String.init) == expected)
        #expect(out.stdout.isEmpty, "\(out.stdout)")
    }

    @Test func jsonListsEveryError() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bad = try dir.write("bad.yaml", badConfig)
        let out = try Tools.run([Tools.agentctl, "config", "check", "--json", bad])
        #expect(out.status == 1)
        let report = try CheckReport.parse(out.stdout)
        try #require(report.files.count == 1)
        let file = report.files[0]
        #expect(file.file == bad && !file.ok && file.monitors == nil && file.targets == nil)
        #expect(file.errors == badConfigErrors.map {
            CheckReport.Diagnostic(file: bad, line: $0.0, column: $0.1, message: $0.2)
        })
        #expect(out.stderr.isEmpty, "JSON mode prints no text diagnostics: \(out.stderr)")
    }

    /// Targets that come from discovery are not known to a check (it asks no source): the
    /// summary says how many sources there are besides the static targets.
    @Test func discoverySourcesAreCountedBesideStaticTargets() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.write("sd.yaml", """
            monitors:
              - id: inventory
                protocol: icmp
                targets: [127.0.0.1]
                file_sd_configs:
                  - files: [\(dir.url.path)/*.json]
                http_sd_configs:
                  - url: http://127.0.0.1:1/sd
            """)
        let out = try Tools.run([Tools.agentctl, "config", "check", file])
        #expect(out.status == 0 && out.stdout == "\(file): ok (1 monitor, 1 static target + 2 discovery sources)\n",
                "\(out.stdout)\(out.stderr)")
        let json = try CheckReport.parse(try Tools.run([Tools.agentctl, "config", "check", "--json", file]).stdout)
        #expect(json.files.first?.targets == 1 && json.files.first?.discoverySources == 2)
    }

    @Test func missingFileExitsTwoNamingTheFile() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let missing = dir.url.appendingPathComponent("nope.yaml").path
        let out = try Tools.run([Tools.agentctl, "config", "check", missing])
        #expect(out.status == 2)
        #expect(out.stderr == "agentctl: cannot read config '\(missing)': No such file or directory\n")

        let json = try Tools.run([Tools.agentctl, "config", "check", "--json", missing])
        #expect(json.status == 2)
        let report = try CheckReport.parse(json.stdout)
        #expect(report.files.first?.errors.first?.message == "cannot read config: No such file or directory")
    }

    @Test func directoryExitsTwo() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = try Tools.run([Tools.agentctl, "config", "check", dir.url.path])
        #expect(out.status == 2)
        #expect(out.stderr.contains("cannot read config '\(dir.url.path)': Is a directory"))
    }

    @Test(.enabled(if: !Tools.isRoot, "root reads a mode-000 file"))
    func unreadableFileExitsTwo() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let locked = try dir.write("locked.yaml", goodConfig)
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: locked)
        let out = try Tools.run([Tools.agentctl, "config", "check", locked])
        #expect(out.status == 2)
        #expect(out.stderr.contains("cannot read config '\(locked)': Permission denied"))
    }

    @Test func oneGoodOneBadReportsBoth() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let good = try dir.write("good.yaml", goodConfig)
        let bad = try dir.write("bad.yaml", badConfig)
        let out = try Tools.run([Tools.agentctl, "config", "check", good, bad])
        #expect(out.status == 1)
        #expect(out.stdout.contains("\(good): ok (2 monitors, 3 targets)"))
        #expect(out.stderr.contains("\(bad):3:3: error: unknown key 'cadance'"))
        #expect(out.stderr.contains("\(bad): \(badConfigErrors.count) errors"))

        let json = try Tools.run([Tools.agentctl, "config", "check", "--json", bad, good])
        #expect(json.status == 1)
        let report = try CheckReport.parse(json.stdout)
        #expect(report.files.map(\.file) == [bad, good])
        #expect(report.files.map(\.ok) == [false, true])
        #expect(report.files[0].errors.count == badConfigErrors.count)
        #expect(report.files[1].monitors == 2 && report.files[1].targets == 3 && report.files[1].errors.isEmpty)
    }

    @Test func unreadableWinsOverInvalidAndEveryFileIsChecked() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bad = try dir.write("bad.yaml", badConfig)
        let missing = dir.url.appendingPathComponent("nope.yaml").path
        let out = try Tools.run([Tools.agentctl, "config", "check", missing, bad])
        #expect(out.status == 2)
        #expect(out.stderr.contains("'\(missing)': No such file or directory"))
        #expect(out.stderr.contains("\(bad): \(badConfigErrors.count) errors"))
    }

    @Test func helpListsConfigCheck() throws {
        let group = try Tools.run([Tools.agentctl, "config"])
        #expect(group.status == 0)
        #expect(group.stdout.contains("USAGE: agentctl config <subcommand>"))
        #expect(group.stdout.contains("check"))
        let top = try Tools.run([Tools.agentctl, "--help"])
        #expect(top.stdout.contains("config check"))
        let noFiles = try Tools.run([Tools.agentctl, "config", "check"])
        #expect(noFiles.status == 64 && noFiles.stderr.contains("Missing expected argument"))
    }
}

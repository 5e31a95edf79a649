import ArgumentParser
import Foundation
import ProbeAgentCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `agentctl config`: work with agent config files.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with agent config files.",
        subcommands: [ConfigCheckCommand.self]
    )
}

/// `agentctl config check FILE...`: validate config files the way the agent loads them.
struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate config files without starting the agent.",
        discussion: """
            Loads each FILE exactly as probe-agent does and reports every problem, not only the first, \
            as `FILE:LINE:COLUMN: error: MESSAGE` on stderr, then a summary line for the file \
            (`FILE: N errors`, also on stderr). A valid file prints `FILE: ok (N monitors, M targets)` \
            on stdout, or `(N monitors, M static targets + K discovery sources)` when monitors \
            discover targets (file_sd_configs, http_sd_configs: not asked here).

            --json prints one document on stdout instead (monitors, targets and discoverySources \
            are null for a file that is not valid):
              {"files": [{"file", "ok", "monitors", "targets", "discoverySources",
                          "errors": [{"file", "line", "column", "message"}]}]}

            Files are held to the agent's limits before they are parsed: 16 MiB, lists and mappings \
            nested 64 deep, 10000 aliases standing for 1000000 nodes in all; a file past one is \
            invalid, with the limit named at its position.

            Exit status: 0 every file is valid; 1 some file has errors; 2 some file could not be \
            read (missing, a directory, no permission).

            Examples:
              agentctl config check /etc/probe-agent/agent.yaml
              agentctl config check --json config/*.yaml
            """
    )

    @Flag(name: .long, help: "Print JSON (one document) instead of text.")
    var json = false

    @Argument(help: ArgumentHelp("Config files to check.", valueName: "file"))
    var files: [String]

    func run() throws {
        let results = files.map(Self.check)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(ConfigCheckReport(files: results))
            print(String(decoding: data, as: UTF8.self))
        }
        for result in results {
            switch result.outcome {
            case .unreadable(let reason):
                printError("agentctl: cannot read config '\(result.file)': \(reason)")
            case .invalid(let errors) where !json:
                for error in errors { printError(error.description) }
                printError("\(result.file): \(errors.count) error\(errors.count == 1 ? "" : "s")")
            case .valid(let monitors, let targets, let sources) where !json:
                // With discovery, the targets are known only once the agent asks the sources.
                let listed = sources == 0 ? "\(targets) target\(targets == 1 ? "" : "s")"
                    : "\(targets) static target\(targets == 1 ? "" : "s") + \(sources) discovery source\(sources == 1 ? "" : "s")"
                print("\(result.file): ok (\(monitors) monitor\(monitors == 1 ? "" : "s"), \(listed))")
                fflush(nil)  // keep stdout in step with the diagnostics on stderr
            default:
                break
            }
        }
        if results.contains(where: { if case .unreadable = $0.outcome { true } else { false } }) {
            throw ExitCode(2)
        }
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    /// Loads one file; never throws, so every file gets checked.
    static func check(_ path: String) -> ConfigCheckResult {
        if let reason = unreadableReason(path) {
            return ConfigCheckResult(file: path, outcome: .unreadable(reason))
        }
        do {
            let config = try AgentConfig.load(contentsOf: path)
            // The web config it names, parsed too (its errors carry its own file name); the
            // certificate and key it names are checked by the agent at start.
            if let web = config.http.webConfigFile {
                do {
                    _ = try WebConfig.load(contentsOf: web)
                } catch {
                    return ConfigCheckResult(file: path, outcome: .invalid(error.errors))
                }
            }
            return ConfigCheckResult(file: path, outcome: .valid(
                monitors: config.monitors.count,
                targets: config.targetCount,
                discoverySources: config.monitors.reduce(0) { $0 + $1.discovery.files.count + $1.discovery.http.count }))
        } catch {
            // The loader reports a file it cannot read (or decode) as one error at 0:0.
            if error.errors.count == 1, let only = error.errors.first, only.line == 0,
               only.message.hasPrefix("cannot read config") {
                let reason = only.message.dropFirst("cannot read config".count)
                    .drop { $0 == ":" || $0 == " " }
                return ConfigCheckResult(file: path, outcome: .unreadable(String(reason)))
            }
            return ConfigCheckResult(file: path, outcome: .invalid(error.errors))
        }
    }

    /// Why `path` cannot be read as a file (strerror text), or `nil` when it can.
    static func unreadableReason(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return String(cString: strerror(errno)) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return String(cString: strerror(EISDIR)) }
        return nil
    }
}

/// What checking one file found.
struct ConfigCheckResult: Encodable {
    enum Outcome {
        /// `targets`: the static ones; `discoverySources`: file_sd and http_sd entries.
        case valid(monitors: Int, targets: Int, discoverySources: Int)
        case invalid([ConfigError])
        case unreadable(String)
    }

    var file: String
    var outcome: Outcome

    var ok: Bool { if case .valid = outcome { true } else { false } }

    private enum CodingKeys: String, CodingKey { case file, ok, monitors, targets, discoverySources, errors }
    private struct Diagnostic: Encodable { var file: String; var line: Int; var column: Int; var message: String }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(ok, forKey: .ok)
        var monitors: Int?, targets: Int?, sources: Int?
        var errors: [Diagnostic] = []
        switch outcome {
        case .valid(let m, let t, let s):
            (monitors, targets, sources) = (m, t, s)
        case .invalid(let list):
            errors = list.map { Diagnostic(file: $0.file, line: $0.line, column: $0.column, message: $0.message) }
        case .unreadable(let reason):
            errors = [Diagnostic(file: file, line: 0, column: 0, message: "cannot read config: \(reason)")]
        }
        try c.encode(monitors, forKey: .monitors)
        try c.encode(targets, forKey: .targets)
        try c.encode(sources, forKey: .discoverySources)
        try c.encode(errors, forKey: .errors)
    }
}

/// The `agentctl config check --json` document.
struct ConfigCheckReport: Encodable {
    var files: [ConfigCheckResult]
}

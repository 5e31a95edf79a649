import Foundation
import Yams

extension AgentConfig {
    /// Top-level keys of `agent.yaml`.
    static let topLevelKeys = ["defaults", "monitors", "scheduler", "queue", "spill", "remote_write",
                               "http", "admin", "metrics", "log_level"]

    /// Parses and validates a config document.
    ///
    /// Every problem is collected (unknown keys, wrong types, bad durations, timeout ≥ cadence,
    /// duplicate ids, unknown or cyclic `depends_on`, invalid addresses, ports out of range …)
    /// and thrown together, sorted by position.
    ///
    /// - Parameters:
    ///   - yaml: The document text.
    ///   - file: The name to put in error positions (usually the path it was read from).
    ///   - environment: What `${VAR}` in values expands to (``EnvironmentSubstitution``), and
    ///     the host name behind the default `external_labels: {agent: <hostname>}`.
    /// - Returns: The validated config with every default applied.
    /// - Throws: ``ConfigErrors`` with at least one ``ConfigError``.
    public static func load(yaml: String, file: String,
                            environment: ConfigEnvironment = .current()) throws(ConfigErrors) -> AgentConfig {
        var reader = NodeReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigErrors([syntaxError(error, file: file)])
        }
        var config = AgentConfig()
        let document = EnvironmentSubstitution.expand(root ?? Node([(Node, Node)]()), environment, &reader)
        if let fields = reader.fields(document, in: "the top level", known: topLevelKeys) {
            config.read(fields, environment, &reader)
        }
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return config
    }

    /// Reads and validates a config file.
    ///
    /// - Parameter path: File to read; it also names the file in error positions.
    /// - Returns: The validated config.
    /// - Throws: ``ConfigErrors``; an unreadable file is one error at line 0, column 0.
    public static func load(contentsOf path: String, environment: ConfigEnvironment = .current()) throws(ConfigErrors) -> AgentConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigErrors([ConfigError(file: path, line: 0, column: 0,
                                            message: "cannot read config: \(error.localizedDescription)")])
        }
        return try load(yaml: text, file: path, environment: environment)
    }

    private static func syntaxError(_ error: any Error, file: String) -> ConfigError {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return ConfigError(file: file, line: mark.line, column: mark.column,
                               message: "invalid YAML: \(prefix)\(problem)")
        default:
            return ConfigError(file: file, line: 0, column: 0, message: "invalid YAML: \(error)")
        }
    }

    private mutating func read(_ fields: Fields, _ environment: ConfigEnvironment, _ reader: inout NodeReader) {
        if let node = fields["scheduler"] { scheduler.read(node, &reader) }
        if let node = fields["defaults"] { defaults.read(node, &reader) }
        if let node = reader.require(fields, "monitors", in: "the top level") {
            monitors = MonitorConfig.readAll(node, defaults: defaults, tick: scheduler.tick, &reader)
        }
        if let node = fields["queue"] { queue.read(node, &reader) }
        if let node = fields["spill"] { spill.read(node, &reader) }
        if let node = fields["remote_write"] {
            remoteWrite = RemoteWriteConfig.read(node, &reader, spillMode: spill.mode, defaultAgent: environment.value("HOSTNAME") ?? environment.hostname)
        }
        if let node = fields["http"] { http.read(node, &reader) }
        if let node = fields["admin"] { admin.read(node, &reader) }
        if let node = fields["metrics"] { metrics.read(node, &reader) }
        if let node = fields["log_level"], let text = reader.string(node, "log_level") {
            if let level = LogLevel(rawValue: text.lowercased()) {
                logLevel = level
            } else {
                let names = LogLevel.allCases.map(\.rawValue)
                reader.error(at: node, "unknown log_level '\(text)'; expected one of \(names.joined(separator: ", "))")
            }
        }
    }
}

extension MonitorDefaults {
    static let keys = ["cadence", "timeout", "labels"]

    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        guard let fields = reader.fields(node, in: "defaults", known: Self.keys) else { return }
        if let n = fields["cadence"], let value = reader.duration(n, "defaults.cadence") { cadence = value }
        if let n = fields["timeout"], let value = reader.duration(n, "defaults.timeout") {
            timeout = value
            if value >= cadence {
                reader.error(at: n, "timeout \(DurationParser.format(value)) must be less than cadence \(DurationParser.format(cadence)) in defaults")
            }
        }
        if let n = fields["labels"] { labels = LabelRules.read(n, "defaults.labels", reserved: true, &reader) }
    }
}

import Foundation
import Yams

extension AgentConfig {
    /// Top-level keys of `agent.yaml`.
    static let topLevelKeys = ["defaults", "monitors", "scheduler", "queue", "spill", "remote_write",
                               "http", "admin", "metrics", "log_level", "process"]

    /// Parses and validates a config document.
    ///
    /// Every problem is collected (unknown keys, wrong types, bad durations, timeout ≥ cadence,
    /// duplicate ids, unknown or cyclic `depends_on`, invalid addresses, ports out of range …)
    /// and thrown together, sorted by position. Before Yams builds a tree, the text is held to
    /// `limits` (size, nesting, aliases: ``ConfigLimits``); the first limit exceeded is the one
    /// error thrown. Any input, however broken, ends in a value or ``ConfigErrors``, never a trap.
    ///
    /// - Parameters:
    ///   - yaml: The document text.
    ///   - file: The name to put in error positions (usually the path it was read from).
    ///   - environment: What `${VAR}` in values expands to (``EnvironmentSubstitution``), and
    ///     the host name behind the default `external_labels: {agent: <hostname>}`.
    ///   - limits: What the document may cost; ``ConfigLimits/standard`` unless testing.
    /// - Returns: The validated config with every default applied.
    /// - Throws: ``ConfigErrors`` with at least one ``ConfigError``.
    public static func load(yaml: String, file: String, environment: ConfigEnvironment = .current(),
                            limits: ConfigLimits = .standard) throws(ConfigErrors) -> AgentConfig {
        if yaml.utf8.count > limits.maxBytes {
            throw ConfigErrors([ConfigFileReader.tooLarge(file, size: "is \(yaml.utf8.count) bytes", limit: limits.maxBytes)])
        }
        if let violation = YAMLLimitScan.firstViolation(yaml, file: file, limits: limits) {
            throw ConfigErrors([violation])
        }
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

    /// Parses and validates a config document given as bytes, which must be UTF-8 text.
    ///
    /// - Parameters:
    ///   - bytes: The file's contents.
    ///   - file: The name to put in error positions.
    ///   - environment: What `${VAR}` in values expands to.
    ///   - limits: What the document may cost.
    /// - Returns: The validated config.
    /// - Throws: ``ConfigErrors``; bytes that are not UTF-8 are one error at the first bad byte.
    public static func load(bytes: [UInt8], file: String, environment: ConfigEnvironment = .current(),
                            limits: ConfigLimits = .standard) throws(ConfigErrors) -> AgentConfig {
        if bytes.count > limits.maxBytes {
            throw ConfigErrors([ConfigFileReader.tooLarge(file, size: "is \(bytes.count) bytes", limit: limits.maxBytes)])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigErrors([TextPosition.notUTF8(bytes, file: file)])
        }
        return try load(yaml: text, file: file, environment: environment, limits: limits)
    }

    /// Reads and validates a config file, never reading more than `limits.maxBytes` of it.
    ///
    /// - Parameters:
    ///   - path: File to read; it also names the file in error positions.
    ///   - environment: What `${VAR}` in values expands to.
    ///   - limits: What the file may cost.
    /// - Returns: The validated config.
    /// - Throws: ``ConfigErrors``; an unreadable file is one error at line 0, column 0
    ///   ("cannot read config: …"), as is a file over the size limit.
    public static func load(contentsOf path: String, environment: ConfigEnvironment = .current(),
                            limits: ConfigLimits = .standard) throws(ConfigErrors) -> AgentConfig {
        switch ConfigFileReader.read(path, maxBytes: limits.maxBytes) {
        case .success(let bytes): return try load(bytes: bytes, file: path, environment: environment, limits: limits)
        case .failure(let error): throw ConfigErrors([error])
        }
    }

    static func syntaxError(_ error: any Error, file: String) -> ConfigError {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return ConfigError(file: file, line: mark.line, column: mark.column,
                               message: "invalid YAML: \(prefix)\(problem)")
        case .reader(let problem, let offset, let value, let yaml):
            // libyaml's offset, in Characters here; a line and column are more use to a person.
            let (line, column) = TextPosition.lineAndColumn(in: yaml, characterOffset: offset ?? 0)
            return ConfigError(file: file, line: line, column: column,
                               message: "invalid YAML: \(problem) (character code \(value))")
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
            remoteWrite = RemoteWriteConfig.readAll(node, &reader, spillMode: spill.mode, defaultAgent: environment.value("HOSTNAME") ?? environment.hostname)
        }
        if let node = fields["http"] { http.read(node, &reader) }
        if let node = fields["admin"] { admin.read(node, &reader) }
        if let node = fields["metrics"] { metrics.read(node, &reader) }
        if let node = fields["process"] { process.read(node, &reader) }
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

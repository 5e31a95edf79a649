/// One problem found in a config file, with the position it was found at.
///
/// `description` reads like a compiler diagnostic, `file:line:column: error: message`, so
/// editors and terminals can jump to it. Line and column count from 1; a problem that belongs to
/// no particular place (an unreadable file) carries line 0, column 0.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file name as given to the loader.
    public var file: String
    /// Line number, from 1.
    public var line: Int
    /// Column number, from 1 (counted in Unicode scalars, as libyaml does).
    public var column: Int
    /// What is wrong, in a sentence that names the key or value.
    public var message: String

    /// Creates an error at a position.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: error: message`.
    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}

/// Every problem found in one config file; thrown when there is at least one.
///
/// The loader does not stop at the first problem: an operator fixing a file wants the full list.
/// Errors are sorted by position.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    /// The problems, in file order.
    public var errors: [ConfigError]

    /// Wraps a list of problems, sorting them by line and column.
    public init(_ errors: [ConfigError]) {
        self.errors = errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    /// One diagnostic per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

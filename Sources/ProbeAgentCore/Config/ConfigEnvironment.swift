import Foundation
import Yams

/// What `${VAR}` in a config value can name: the process environment, plus `HOSTNAME`, which
/// is this host's name (gethostname) unless the environment sets it. Services rarely have
/// HOSTNAME exported (bash sets it without exporting), hence the fallback.
public struct ConfigEnvironment: Sendable, Hashable {
    public var variables: [String: String]
    public var hostname: String

    public init(variables: [String: String], hostname: String) {
        self.variables = variables
        self.hostname = hostname
    }

    /// This process's environment and host name: gethostname(2), not Foundation's
    /// `ProcessInfo.hostName`, which asks DNS for the canonical name (seconds with a slow
    /// resolver, and a config load must never wait on DNS).
    public static func current() -> ConfigEnvironment {
        var buf = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buf, buf.count - 1) == 0 ? String(cString: buf) : "localhost"
        return ConfigEnvironment(variables: ProcessInfo.processInfo.environment, hostname: name)
    }

    func value(_ name: String) -> String? {
        variables[name] ?? (name == "HOSTNAME" ? hostname : nil)
    }
}

/// `${VAR}`, `${VAR:-default}` and `$$` (a literal `$`) in config values, so one file serves a
/// fleet (`external_labels: {agent: "${HOSTNAME}"}`, `shard: {index: "${SHARD_INDEX}"}`).
/// Keys are never expanded; a `$` not followed by `{` or `$` stays as it is.
enum EnvironmentSubstitution {
    /// Every scalar value of `node` with its variables replaced; an unset variable without a
    /// default, or a malformed `${`, is an error at the value's position.
    static func expand(_ node: Node, _ env: ConfigEnvironment, _ reader: inout NodeReader, depth: Int = 0) -> Node {
        switch node {
        case .scalar(var s):
            guard s.string.contains("$") else { return node }
            switch expand(s.string, env) {
            case .success(let text): s.string = text
            case .failure(let why): reader.error(at: node, why.message)
            }
            return .scalar(s)
        case .mapping(let m) where depth < 256:
            let pairs = m.map { ($0.key, expand($0.value, env, &reader, depth: depth + 1)) }
            return .mapping(Node.Mapping(pairs, m.tag, m.style, m.mark))
        case .sequence(let q) where depth < 256:
            return .sequence(Node.Sequence(q.map { expand($0, env, &reader, depth: depth + 1) }, q.tag, q.style, q.mark))
        default:
            return node
        }
    }

    struct Failure: Error, Equatable { var message: String }

    /// One value's text with its variables replaced.
    static func expand(_ text: String, _ env: ConfigEnvironment) -> Result<String, Failure> {
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                out += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.first == "{" else {
                out += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                return .failure(Failure(message: "unterminated '${' in '\(text)'; write '$$' for a literal '$'"))
            }
            let body = after[after.index(after: after.startIndex)..<close]
            let (name, fallback): (Substring, Substring?) = if let sep = body.range(of: ":-") {
                (body[..<sep.lowerBound], body[sep.upperBound...])
            } else {
                (body, nil)
            }
            guard isValidName(name) else {
                return .failure(Failure(message: "invalid variable name '\(name)' in '${\(body)}'; expected [A-Za-z_][A-Za-z0-9_]*"))
            }
            if let value = env.value(String(name)), !(value.isEmpty && fallback != nil) {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                return .failure(Failure(message: "environment variable '\(name)' is not set; set it (e.g. in /etc/default/probe-agent) or give a default: ${\(name):-value}"))
            }
            rest = after[after.index(after: close)...]
        }
        out += rest
        return .success(out)
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
                || b == UInt8(ascii: "_")
        }
    }
}

import Foundation
import Yams

/// The keys and values of one YAML mapping, after key checks.
struct Fields {
    /// The mapping node itself (for "missing key" positions).
    let node: Node
    /// Value nodes by key.
    private(set) var values: [String: Node] = [:]
    /// Key nodes by key (for positions of errors about the key).
    private(set) var keys: [String: Node] = [:]

    init(node: Node) { self.node = node }

    subscript(key: String) -> Node? { values[key] }

    mutating func set(_ key: String, keyNode: Node, value: Node) {
        values[key] = value
        keys[key] = keyNode
    }
}

/// Reads typed values out of a Yams node tree and collects every problem as a ``ConfigError``
/// with the node's line and column, instead of stopping at the first.
///
/// Every accessor returns `nil` after recording an error, so callers simply skip the value and
/// go on; the loader throws at the end if anything was recorded.
struct NodeReader {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) { self.file = file }

    mutating func error(at node: Node?, _ message: String) {
        let mark = node?.mark
        errors.append(ConfigError(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message))
    }

    /// "a list", "a string" …, for "expected X, found Y" messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            if node.null != nil && s.style == .plain { return "null" }
            if s.style != .plain { return "a string" }
            // Not Yams's YAML 1.1 sexagesimal numbers (see `integer`): "http://host" is a string.
            if !s.string.contains(":"), node.int != nil || node.float != nil { return "a number" }
            if node.bool != nil { return "a boolean" }
            return "a string"
        }
    }

    /// A scalar's integer value (decimal, 0x, 0o, 0b), never Yams's YAML 1.1 sexagesimal one
    /// (`1:30` as 90): Yams multiplies those out unchecked, so a long one (`99:99:…:99`) trapped
    /// (found by Fuzz/fuzz-config), and it reads any text with a colon as a number
    /// (`http://host` as 0).
    static func integer(_ node: Node) -> Int? {
        guard case .scalar(let s) = node, !s.string.contains(":") else { return nil }
        return node.int
    }

    /// A mapping whose keys are all in `known`; unknown and duplicate keys are reported (with
    /// the nearest known key as a suggestion) and left out.
    mutating func fields(_ node: Node, in what: String, known: [String]) -> Fields? {
        guard case .mapping(let mapping) = node else {
            error(at: node, "expected a mapping for \(what), found \(Self.describe(node))")
            return nil
        }
        var fields = Fields(node: node)
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                error(at: keyNode, "keys in \(what) must be plain strings, found \(Self.describe(keyNode))")
                continue
            }
            let key = scalar.string
            if let first = fields.keys[key] {
                error(at: keyNode, "duplicate key '\(key)' in \(what) (first at line \(first.mark?.line ?? 0))")
            } else if !known.contains(key) {
                var message = "unknown key '\(key)' in \(what)"
                if let near = EditDistance.suggestion(for: key, among: known) {
                    message += "; did you mean '\(near)'?"
                }
                error(at: keyNode, message)
            } else {
                fields.set(key, keyNode: keyNode, value: value)
            }
        }
        return fields
    }

    /// Reports a missing required key at the mapping's position.
    mutating func require(_ fields: Fields, _ key: String, in what: String) -> Node? {
        if let node = fields[key] { return node }
        error(at: fields.node, "missing required key '\(key)' in \(what)")
        return nil
    }

    /// Any non-null scalar, as its text.
    mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let s) = node, !(node.null != nil && s.style == .plain) else {
            error(at: node, "expected a string for \(what), found \(Self.describe(node))")
            return nil
        }
        return s.string
    }

    /// An integer in `range`; `alternative` names a keyword the caller also accepts (for the
    /// error message).
    mutating func int(_ node: Node, _ what: String, in range: ClosedRange<Int>, or alternative: String? = nil) -> Int? {
        guard case .scalar(let s) = node, s.style == .plain, let value = Self.integer(node) else {
            let expected = alternative.map { "an integer or '\($0)'" } ?? "an integer"
            error(at: node, "expected \(expected) for \(what), found \(Self.describe(node))")
            return nil
        }
        guard range.contains(value) else {
            error(at: node, "\(what) \(value) is out of range \(range.lowerBound)..\(range.upperBound)")
            return nil
        }
        return value
    }

    /// `true` or `false` (YAML 1.2 core: no yes/no/on/off surprises).
    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let s) = node, s.style == .plain, s.string == "true" || s.string == "false" else {
            error(at: node, "expected true or false for \(what), found \(Self.describe(node))")
            return nil
        }
        return s.string == "true"
    }

    /// A duration such as `3s`, `500ms`, `1h30m`; must be positive.
    mutating func duration(_ node: Node, _ what: String) -> Duration? {
        guard let text = string(node, what) else { return nil }
        guard let value = DurationParser.parse(text) else {
            error(at: node, "invalid duration '\(text)' for \(what); use a number with a unit (ns, us, ms, s, m, h), e.g. 3s, 500ms, 1h30m")
            return nil
        }
        guard value > .zero else {
            error(at: node, "\(what) must be greater than zero, got '\(text)'")
            return nil
        }
        return value
    }

    /// A byte size: an integer, or a number with a unit (`512MiB`, `1GB`, `64KiB`).
    mutating func byteSize(_ node: Node, _ what: String) -> Int64? {
        if case .scalar(let s) = node, s.style == .plain, let value = Self.integer(node) {
            if value > 0 { return Int64(value) }
            error(at: node, "\(what) must be greater than zero")
            return nil
        }
        guard let text = string(node, what) else { return nil }
        let units: [(String, Int64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
                                        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000),
                                        ("TB", 1_000_000_000_000), ("B", 1)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count).trimmingCharacters(in: .whitespaces)
            if let n = Int64(number), n > 0, n <= Int64.max / scale { return n * scale }
            break
        }
        error(at: node, "invalid size '\(text)' for \(what); use bytes or a number with a unit (KiB, MiB, GiB, KB, MB, GB)")
        return nil
    }

    /// A list of strings, each with its node for later positions.
    mutating func stringList(_ node: Node, _ what: String) -> [(String, Node)]? {
        guard case .sequence(let sequence) = node else {
            error(at: node, "expected a list for \(what), found \(Self.describe(node))")
            return nil
        }
        return sequence.compactMap { item in string(item, "an item of \(what)").map { ($0, item) } }
    }

    /// A string → string mapping (labels, headers), each entry with its key node.
    mutating func stringMap(_ node: Node, _ what: String) -> [(key: String, keyNode: Node, value: String)]? {
        guard case .mapping(let mapping) = node else {
            error(at: node, "expected a mapping for \(what), found \(Self.describe(node))")
            return nil
        }
        var seen: Set<String> = []
        var out: [(key: String, keyNode: Node, value: String)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = string(keyNode, "a key of \(what)"),
                  let value = string(valueNode, "\(what).\(key)") else { continue }
            guard seen.insert(key).inserted else {
                error(at: keyNode, "duplicate key '\(key)' in \(what)")
                continue
            }
            out.append((key, keyNode, value))
        }
        return out
    }
}

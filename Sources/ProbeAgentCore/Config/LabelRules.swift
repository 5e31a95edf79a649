import Yams

/// Prometheus label-name rules for `labels`, `external_labels` and the like.
public enum LabelRules {
    /// Labels per-target series carry (`address`: on `all_addresses` monitors); user labels may
    /// not redefine them.
    public static let reserved: Set<String> = ["monitor", "target", "protocol", "address"]

    /// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*` and does not start with `__`
    /// (which Prometheus keeps for itself).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !name.hasPrefix("__") else { return false }
        func letter(_ b: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b | 0x20) || b == UInt8(ascii: "_") }
        return letter(first) && name.utf8.allSatisfy { letter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Reads a label map, reporting invalid names (and, when `reserved`, the names of
    /// ``LabelRules/reserved``) at the key's position.
    static func read(_ node: Node, _ what: String, reserved: Bool, _ reader: inout NodeReader) -> [String: String] {
        var labels: [String: String] = [:]
        for (key, keyNode, value) in reader.stringMap(node, what) ?? [] {
            if !isValidName(key) {
                reader.error(at: keyNode, "invalid label name '\(key)' in \(what); names match [a-zA-Z_][a-zA-Z0-9_]* and do not start with '__'")
            } else if reserved && Self.reserved.contains(key) {
                reader.error(at: keyNode, "label '\(key)' in \(what) collides with the built-in label of the same name (monitor, target, protocol and, on all_addresses monitors, address are set by the agent)")
            } else {
                labels[key] = value
            }
        }
        return labels
    }
}

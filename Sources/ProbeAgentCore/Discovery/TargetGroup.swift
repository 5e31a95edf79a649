import Foundation
import Yams

/// One group of a discovery source, as Prometheus's file and HTTP discovery define it:
/// `{targets: [address, …], labels: {name: value, …}}`. Targets are addresses as in a
/// monitor's `targets` (an IP literal or a hostname); a `host:port` or `[v6]:port` form, as
/// Prometheus inventories write them, is taken without its port: the monitor's `port` is what
/// is probed. Labels starting with `__` (`__meta_*`, Prometheus's own) are dropped, as
/// Prometheus drops them after relabelling.
public struct TargetGroup: Sendable, Hashable {
    public var targets: [String]
    public var labels: [String: String]

    public init(targets: [String], labels: [String: String] = [:]) {
        self.targets = targets
        self.labels = labels
    }
}

/// What one discovery answer (a file, a response body) may hold.
public struct DiscoveryLimits: Sendable, Hashable {
    /// Largest file or response body, in bytes. 32 MiB: 100k targets with a few labels
    /// each measure about 6 MB.
    public var maxBytes: Int = 32 << 20
    /// Most groups in one answer.
    public var maxGroups: Int = 200_000
    /// Most targets in one answer.
    public var maxTargets: Int = 1_000_000
    /// Most labels on one group.
    public var maxLabels: Int = 64
    public init() {}
    public static let standard = DiscoveryLimits()
}

extension TargetGroup {
    /// Parses a discovery answer: a JSON or YAML list of groups (JSON is read as YAML, so a
    /// problem is named with its line and column either way).
    ///
    /// - Parameters:
    ///   - bytes: the file's contents or the response body.
    ///   - source: the file path or URL, for error positions.
    /// - Returns: the groups; an empty list only for a document that is an empty list.
    /// - Throws: ``ConfigErrors``: not UTF-8, over a limit, not YAML/JSON, not a list of
    ///   groups, an invalid address or label name.
    public static func parse(_ bytes: [UInt8], source: String, limits: DiscoveryLimits = .standard) throws(ConfigErrors) -> [TargetGroup] {
        if bytes.count > limits.maxBytes {
            throw ConfigErrors([ConfigFileReader.tooLarge(source, size: "is \(bytes.count) bytes", limit: limits.maxBytes)])
        }
        // The fast way for the usual answer (100k targets: ~20x faster than the YAML parser);
        // anything it does not take whole goes the positioned way below, which names the problem.
        if let groups = fastJSON(bytes, limits: limits) { return groups }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigErrors([TextPosition.notUTF8(bytes, file: source)])
        }
        if let violation = YAMLLimitScan.firstViolation(text, file: source, limits: ConfigLimits(maxBytes: limits.maxBytes, maxDepth: 8, maxAliases: 0)) {
            throw ConfigErrors([violation])
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw ConfigErrors([AgentConfig.syntaxError(error, file: source)]) }
        var reader = NodeReader(file: source)
        guard let root, case .sequence(let items) = root else {
            reader.error(at: root, "expected a list of target groups ([{targets: [...], labels: {...}}]), found \(root.map(NodeReader.describe) ?? "an empty document")")
            throw ConfigErrors(reader.errors)
        }
        if items.count > limits.maxGroups {
            reader.error(at: root, "\(items.count) target groups is over the limit of \(limits.maxGroups)")
            throw ConfigErrors(reader.errors)
        }
        var groups: [TargetGroup] = []
        var total = 0
        for item in items {
            guard let f = reader.fields(item, in: "a target group", known: ["targets", "labels"]) else { continue }
            var group = TargetGroup(targets: [])
            if let n = reader.require(f, "targets", in: "a target group"), let list = reader.stringList(n, "targets") {
                total += list.count
                if total > limits.maxTargets {
                    reader.error(at: n, "more than \(limits.maxTargets) targets (the limit of one discovery answer)")
                    break
                }
                for (text, at) in list {
                    guard let address = Self.address(text) else {
                        reader.error(at: at, "invalid target '\(text)': not an IPv4 or IPv6 literal nor a valid hostname (with an optional :port)")
                        continue
                    }
                    group.targets.append(address)
                }
            }
            if let n = f["labels"], let pairs = reader.stringMap(n, "labels") {
                if pairs.count > limits.maxLabels { reader.error(at: n, "\(pairs.count) labels on one group is over the limit of \(limits.maxLabels)") }
                for (key, keyNode, value) in pairs where !key.hasPrefix("__") {
                    if !LabelRules.isValidName(key) {
                        reader.error(at: keyNode, "invalid label name '\(key)'; names match [a-zA-Z_][a-zA-Z0-9_]*")
                    } else if LabelRules.reserved.contains(key) {
                        reader.error(at: keyNode, "label '\(key)' collides with the built-in label of the same name (monitor, target, protocol and address are set by the agent)")
                    } else {
                        group.labels[key] = value
                    }
                }
            }
            groups.append(group)
        }
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return groups
    }

    /// A JSON answer with nothing wrong in it, parsed by Foundation; nil for anything else
    /// (not JSON, a wrong type, an invalid target or label, a limit): the caller then parses
    /// it the positioned way, whose errors name the problem.
    static func fastJSON(_ bytes: [UInt8], limits: DiscoveryLimits) -> [TargetGroup]? {
        guard bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "["),
              let list = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [Any], list.count <= limits.maxGroups else { return nil }
        var groups: [TargetGroup] = []
        groups.reserveCapacity(list.count)
        var total = 0
        for item in list {
            guard let g = item as? [String: Any], g.keys.allSatisfy({ $0 == "targets" || $0 == "labels" }),
                  let targets = g["targets"] as? [String] else { return nil }
            total += targets.count
            guard total <= limits.maxTargets else { return nil }
            var group = TargetGroup(targets: [])
            group.targets.reserveCapacity(targets.count)
            for t in targets {
                guard let address = address(t) else { return nil }
                group.targets.append(address)
            }
            if let raw = g["labels"] {
                guard let labels = raw as? [String: String], labels.count <= limits.maxLabels else { return nil }
                for (key, value) in labels where !key.hasPrefix("__") {
                    guard LabelRules.isValidName(key), !LabelRules.reserved.contains(key) else { return nil }
                    group.labels[key] = value
                }
            }
            groups.append(group)
        }
        return groups
    }

    /// A target as the monitor lists it: the address, without a `:port` if one was given.
    static func address(_ text: String) -> String? {
        if TargetAddress(parsing: text) != nil { return text }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let inner = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || Self.isPort(rest.dropFirst()) && rest.first == ":" else { return nil }
            return TargetAddress.parseIPv6(inner) != nil ? inner : nil
        }
        guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":"),
              Self.isPort(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        return TargetAddress(parsing: host) != nil ? host : nil
    }

    private static func isPort(_ s: Substring) -> Bool { Int(s).map { (0...65535).contains($0) } ?? false }
}

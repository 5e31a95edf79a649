
/// Hostname lookups done off the loop thread, handed to it whole: every name's latest good
/// addresses (all of them, in the resolver's order) and the names whose latest lookup failed.
public struct ResolvedNames: Sendable, Equatable {
    public var addresses: [String: [IPAddress]]
    public var failures: [String: String]

    public init(addresses: [String: [IPAddress]], failures: [String: String]) {
        self.addresses = addresses
        self.failures = failures
    }
}

/// The address each target probes: literals parsed once, hostnames from the resolver.
/// A failed lookup keeps the last good addresses (and is reported); a name never resolved, or
/// with no address of its monitor's `address_family`, has none, and its probes count as
/// `unresolved` without stopping anything else.
///
/// Literals are kept per monitor in target order (an array, 32 bytes a target), not in a
/// dictionary keyed by the target string (~105 bytes a target at 100k, most of it the
/// dictionary's spare capacity). Hostnames, usually few, are keyed by name. The target order
/// is the schedule's: for `all_addresses` monitors, the expanded one (``ExpandedTarget``).
public struct AddressBook: Sendable {
    /// Per monitor id, by target index: the parsed literal, nil for a hostname.
    public private(set) var literals: [String: [IPAddress?]] = [:]
    /// Monitors that probe only one family of their hostnames' addresses.
    private var families: [String: AddressFamily] = [:]
    public private(set) var resolved: [String: [IPAddress]] = [:]
    public private(set) var failures: [String: String] = [:]
    /// Every hostname any monitor names, sorted (what the resolver looks up).
    public private(set) var hostnames: [String] = []

    /// - Parameter config: the config as the operator wrote it (not expanded).
    public init(config: AgentConfig) { setTargets(config) }

    public mutating func setTargets(_ config: AgentConfig) {
        var names = Set<String>()
        literals = [:]
        families = [:]
        for m in config.monitors {
            let parsed = m.targets.map(Self.literal)
            for (t, ip) in zip(m.targets, parsed) where ip == nil { names.insert(t) }
            literals[m.id] = parsed
            if m.addressFamily != .any { families[m.id] = m.addressFamily }
        }
        hostnames = names.sorted()
        resolved = resolved.filter { names.contains($0.key) }
        failures = failures.filter { names.contains($0.key) }
    }

    /// The targets of a monitor as the schedule now has them (an `all_addresses` monitor after
    /// its names were expanded): parses them again. O(that monitor's targets).
    public mutating func setScheduledTargets(of monitor: MonitorConfig) {
        literals[monitor.id] = monitor.targets.map(Self.literal)
    }

    /// The address of one entry's target: its literal, else its hostname's latest lookup
    /// (the first address of the monitor's family).
    public func address(monitorID: String, targetIndex: Int, target: String) -> IPAddress? {
        if let list = literals[monitorID], targetIndex < list.count, let ip = list[targetIndex] { return ip }
        guard let all = resolved[target] else { return nil }
        guard let family = families[monitorID] else { return all.first }
        return all.first { family.admits($0.family) }
    }

    /// A hostname's latest good address (the first).
    public func address(forHostname name: String) -> IPAddress? { resolved[name]?.first }

    /// For a book built from a new config: hostnames the running book knows keep what it
    /// knows (their addresses and failures) until the resolver says otherwise.
    public mutating func keepLastGood(from old: AddressBook) {
        for name in hostnames {
            if let addr = old.resolved[name] { resolved[name] = addr }
            if let why = old.failures[name] { failures[name] = why }
        }
    }

    /// Takes the resolver's view; returns the names whose addresses changed and those whose
    /// lookup started failing.
    public mutating func merge(_ names: ResolvedNames) -> (changed: [String], failing: [String]) {
        var changed: [String] = []
        for (name, addrs) in names.addresses where resolved[name] != addrs && hostnames.contains(name) {
            resolved[name] = addrs
            changed.append(name)
        }
        let failing = names.failures.filter { failures[$0.key] != $0.value && hostnames.contains($0.key) }.keys
        failures = names.failures.filter { hostnames.contains($0.key) }
        return (changed.sorted(), failing.sorted())
    }

    /// Text forms of a hostname's addresses (for ``AgentConfig/expandingAddresses(_:)``).
    public func addressTexts(_ name: String) -> [String]? { resolved[name]?.map(\.description) }

    /// A target's literal: an IP as written, or the address of an expanded `name/address`.
    private static func literal(_ target: String) -> IPAddress? {
        if let (_, address) = ExpandedTarget.split(target) { return IPAddress(String(address)) }
        return IPAddress(target)
    }
}

extension AddressFamily {
    /// Whether an address of IP version `family` (4 or 6) is of this family.
    public func admits(_ family: UInt8) -> Bool {
        switch self {
        case .any: true
        case .ipv4: family == 4
        case .ipv6: family == 6
        }
    }
}

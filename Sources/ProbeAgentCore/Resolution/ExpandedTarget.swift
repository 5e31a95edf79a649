/// A hostname target of an `all_addresses` monitor, expanded to one of its addresses.
///
/// The schedule, the ledger and the status file carry it as one string, `name/address`
/// (neither a hostname nor an IP literal contains `/`); `/metrics` and remote write show it as
/// `target="name", address="…"`, so every address is its own series under the name.
public enum ExpandedTarget {
    public static let separator: Character = "/"

    public static func join(_ name: String, _ address: String) -> String { name + "/" + address }

    /// The name and the address of an expanded target; nil for any other target.
    public static func split(_ target: String) -> (name: Substring, address: Substring)? {
        guard let i = target.firstIndex(of: separator) else { return nil }
        return (target[..<i], target[target.index(after: i)...])
    }
}

extension AddressFamily {
    /// Whether an address in text form (`198.18.1.1`, `2001:db8::1`) is of this family.
    public func admits(_ address: String) -> Bool {
        switch self {
        case .any: true
        case .ipv4: !address.contains(":")
        case .ipv6: address.contains(":")
        }
    }
}

extension AgentConfig {
    /// Whether any monitor probes every address of its hostnames.
    public var expandsAddresses: Bool { monitors.contains { $0.allAddresses } }

    /// The config the schedule runs: in `all_addresses` monitors, each hostname is replaced by
    /// one target per address of the monitor's family, in the resolver's order (a name with
    /// none yet stays itself and is probed as `unresolved`). Other monitors are unchanged.
    ///
    /// - Parameter addresses: a hostname's latest good addresses, in text form.
    public func expandingAddresses(_ addresses: (String) -> [String]?) -> AgentConfig {
        guard expandsAddresses else { return self }
        var out = self
        for i in out.monitors.indices where out.monitors[i].allAddresses {
            let m = out.monitors[i]
            var targets: [String] = []
            for t in m.targets {
                guard case .hostname = TargetAddress(parsing: t) else { targets.append(t); continue }
                let mine = (addresses(t) ?? []).filter(m.addressFamily.admits)
                if mine.isEmpty { targets.append(t) } else { targets += mine.map { ExpandedTarget.join(t, $0) } }
            }
            out.monitors[i].targets = targets
        }
        return out
    }
}

extension MonitorConfig {
    /// Version of the canonical encoding below; bump it when the encoding changes.
    private static let hashEncodingVersion: UInt64 = 1

    /// A stable 64-bit hash of the monitor's effective config (defaults applied).
    ///
    /// Same config → same hash in every process and on every run (FNV-1a over a canonical
    /// encoding, see ``StableHasher``; never Swift's randomly seeded `Hasher`). Any change of
    /// id, protocol, targets (including their order, which fixes their phases), port, cadence,
    /// timeout, labels, per-target labels, `depends_on`, `address_family`, `all_addresses`,
    /// discovery or the packet options changes it. Labels are encoded sorted by name and
    /// `depends_on` sorted, since their order carries no meaning.
    ///
    /// A reload compares these hashes: an unchanged hash keeps the monitor's schedule.
    public var configHash: UInt64 {
        var h = StableHasher()
        h.combine(Self.hashEncodingVersion)
        h.combine(id)
        h.combine(probeProtocol.rawValue)
        h.combine(UInt64(targets.count))
        for target in targets { h.combine(target) }
        h.combine(UInt64(port ?? 0))
        h.combine(cadence.nanosecondsValue)
        h.combine(timeout.nanosecondsValue)
        let sortedLabels = labels.sorted { $0.key < $1.key }
        h.combine(UInt64(sortedLabels.count))
        for (key, value) in sortedLabels {
            h.combine(key)
            h.combine(value)
        }
        let parents = dependsOn.sorted()
        h.combine(UInt64(parents.count))
        for parent in parents { h.combine(parent) }
        // Only when set, so the hashes of monitors without them stay what they were.
        if addressFamily != .any { h.combine("address_family=" + addressFamily.rawValue) }
        if allAddresses { h.combine("all_addresses") }
        if packets > 1 {
            h.combine("burst")
            h.combine(UInt64(packets))
            h.combine(spacing.nanosecondsValue)
        }
        if !packet.isDefault {
            h.combine("packet")
            h.combine(UInt64(packet.ttl) | UInt64(packet.tos) << 8 | UInt64(packet.size) << 16 | (packet.dontFragment ? 1 << 32 : 0))
            if let source = packet.source { h.combine("source=" + source.description) }
            if packet.interfaceIndex != 0 { h.combine("interface=\(packet.interfaceIndex)") }
        }
        if discovery != DiscoveryConfig() { h.combine("discovery=\(discovery)") }
        if !targetLabels.isEmpty {
            h.combine("target_labels")
            for (target, own) in targetLabels.sorted(by: { $0.key < $1.key }) {
                h.combine(target)
                for (key, value) in own.sorted(by: { $0.key < $1.key }) {
                    h.combine(key)
                    h.combine(value)
                }
            }
        }
        return h.finalize()
    }
}

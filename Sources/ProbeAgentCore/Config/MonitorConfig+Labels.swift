extension MonitorConfig {
    /// The labels a target's series carry besides `monitor`, `target`, `protocol` (and
    /// `address`): the monitor's (with `defaults.labels` merged in), then the target's own,
    /// which win on a clash (the more specific wins, as a monitor's labels win over the
    /// defaults). Sorted by name.
    ///
    /// - Parameter target: the target as listed; for an `all_addresses` expansion, its name.
    public func seriesLabels(target: some StringProtocol) -> [(String, String)] {
        var merged = labels
        if let own = targetLabels[String(target)] { merged.merge(own) { _, mine in mine } }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// Every monitor's series labels, sorted, kept by the probing loop so that a result costs one
/// lookup (two when its monitor has per-target labels), never a merge or a sort.
public struct SeriesLabelTable: Sendable {
    private var byMonitor: [String: [(String, String)]] = [:]
    private var byTarget: [String: [String: [(String, String)]]] = [:]

    public init(_ config: AgentConfig) {
        for m in config.monitors {
            byMonitor[m.id] = m.seriesLabels(target: "")
            guard !m.targetLabels.isEmpty else { continue }
            var table: [String: [(String, String)]] = [:]
            for target in m.targetLabels.keys { table[target] = m.seriesLabels(target: target) }
            byTarget[m.id] = table
        }
    }

    /// The labels of one target's series (for an `all_addresses` expansion, pass its name).
    public func labels(monitorID: String, target: some StringProtocol) -> [(String, String)] {
        if let table = byTarget[monitorID], let own = table[String(target)] { return own }
        return byMonitor[monitorID] ?? []
    }
}

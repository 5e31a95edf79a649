extension MonitorConfig {
    /// The monitor as this agent probes it: its static `targets`, then every target of
    /// `discovered` (its sources' latest good groups, in source order), each once (first
    /// listing wins, labels included), then only its `shard` of them.
    ///
    /// Labels: a target's own (its `{address, labels}` entry, or its group's) win over the
    /// monitor's on a clash (``seriesLabels(target:)``).
    ///
    /// - Parameter discovered: per source of the monitor, its groups (empty for a source
    ///   that has never answered).
    public func probing(discovered: [[TargetGroup]]) -> MonitorConfig {
        guard discovery.hasSources || discovery.shard != nil else { return self }
        var out = self
        if discovery.hasSources {
            var seen = Set(targets)
            for groups in discovered {
                for group in groups {
                    for t in group.targets where seen.insert(t).inserted {
                        out.targets.append(t)
                        if !group.labels.isEmpty { out.targetLabels[t] = group.labels }
                    }
                }
            }
        }
        if let shard = discovery.shard {
            out.listedTargetCount = out.targets.count
            out.targets = out.targets.filter { ShardHash.shard(of: $0, count: shard.count) == shard.index }
            if !out.targetLabels.isEmpty {
                let kept = Set(out.targets)
                out.targetLabels = out.targetLabels.filter { kept.contains($0.key) }
            }
        }
        return out
    }
}

extension AgentConfig {
    /// Whether any monitor has discovery sources or a shard.
    public var usesDiscovery: Bool { monitors.contains { $0.discovery.hasSources || $0.discovery.shard != nil } }

    /// The config this agent probes: every monitor ``MonitorConfig/probing(discovered:)``.
    ///
    /// - Parameter discovered: by monitor id, per source in config order (file_sd entries
    ///   first, then http_sd), the latest good groups; a missing monitor has none yet.
    public func probing(discovered: [String: [[TargetGroup]]]) -> AgentConfig {
        guard usesDiscovery else { return self }
        var out = self
        for i in out.monitors.indices {
            out.monitors[i] = out.monitors[i].probing(discovered: discovered[out.monitors[i].id] ?? [])
        }
        return out
    }
}

/// A config made ready for the probing loop off it: everything that costs O(targets) with
/// hashing, parsing or sorting is done here, so swapping it in stays a matter of O(targets)
/// array moves (a 100k-target discovery refresh must not stall a loop turn).
public struct PreparedConfig: Sendable {
    /// The config as this agent probes it (discovered targets merged, shards taken).
    public var config: AgentConfig
    /// Its literals, parsed.
    public var addresses: AddressBook
    /// Each target's series labels.
    public var labels: SeriesLabelTable
    /// Target diffs against the lists the loop runs (``TargetDiff``), by monitor id, for the
    /// monitors whose targets changed.
    public var diffs: [String: TargetDiff]

    /// - Parameters:
    ///   - config: the config to run.
    ///   - running: the config the loop runs now (the one last handed to it), if known: the
    ///     target diffs are computed against its lists.
    public init(_ config: AgentConfig, running: AgentConfig? = nil) {
        self.config = config
        addresses = AddressBook(config: config)
        labels = SeriesLabelTable(config)
        var diffs: [String: TargetDiff] = [:]
        if let running {
            for m in config.monitors where !m.allAddresses {
                guard let old = running.monitor(id: m.id), old.targets != m.targets else { continue }
                diffs[m.id] = TargetDiff(from: old.targets, to: m.targets)
            }
        }
        self.diffs = diffs
    }
}

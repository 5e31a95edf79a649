/// A path monitor's sample as the pipeline carries it inside a ``ResultRecord`` (its `path`):
/// the metric and its value; per-hop samples carry `hop` and `router` as the record's last
/// two labels. The series are those of `/metrics` (``PathMetricsRenderer``), sent at each
/// completed trace: hops and changes always, the per-hop ones when `per_hop_series` is on.
public struct PathSample: Sendable, Hashable {
    public enum Metric: UInt8, Sendable, CaseIterable {
        case hops = 0, changes, hopLossRatio, hopRTT

        public var name: String {
            switch self {
            case .hops: "probe_path_hops"
            case .changes: "probe_path_changes_total"
            case .hopLossRatio: "probe_path_hop_loss_ratio"
            case .hopRTT: "probe_path_hop_rtt_seconds"
            }
        }

        /// Per hop: the record's last two labels are `hop` and `router`.
        public var isPerHop: Bool { self == .hopLossRatio || self == .hopRTT }
    }

    public var metric: Metric
    public var value: Double

    public init(_ metric: Metric, _ value: Double) {
        self.metric = metric
        self.value = value
    }
}


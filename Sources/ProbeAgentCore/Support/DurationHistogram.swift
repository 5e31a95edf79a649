/// A fixed-bucket histogram of durations in nanoseconds: the scheduler's lateness (actual −
/// scheduled fire time), the shipper's remote-write request times.
///
/// Bucket bounds follow Prometheus conventions (cumulative `le` buckets when exported), from
/// 100 µs to 10 s; the last bucket is +Inf. Recording is O(buckets) with no allocation.
public struct DurationHistogram: Sendable, Hashable, Codable {
    /// Upper bounds, in nanoseconds, of every bucket but the +Inf one (2 ms: the lateness p99
    /// the agent is held to at 100k targets, scripts/bench-scale.sh).
    public static let bounds: [UInt64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000,
        50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 10_000_000_000,
    ]

    /// ``bounds`` in seconds, as the status file and the admin API report them.
    public static let boundsSeconds = bounds.map { Double($0) / 1e9 }

    /// Non-cumulative counts per bucket; the last one counts values above every bound.
    public private(set) var counts = [UInt64](repeating: 0, count: DurationHistogram.bounds.count + 1)
    /// Number of values recorded.
    public private(set) var count: UInt64 = 0
    /// Sum of all values, in nanoseconds.
    public private(set) var sum: UInt64 = 0
    /// Largest value recorded, in nanoseconds.
    public private(set) var max: UInt64 = 0

    /// An empty histogram.
    public init() {}

    /// Records one duration.
    public mutating func record(_ nanoseconds: UInt64) {
        let bucket = Self.bounds.firstIndex { nanoseconds <= $0 } ?? Self.bounds.count
        counts[bucket] += 1
        count += 1
        sum &+= nanoseconds
        max = Swift.max(max, nanoseconds)
    }

    /// An upper estimate of the `q` quantile: the bound of the bucket that holds it (``max``
    /// for the +Inf bucket, and never more than ``max``), or 0 when empty.
    ///
    /// - Parameter q: A quantile in [0, 1], e.g. 0.99.
    public func quantile(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((q * Double(count)).rounded(.up))
        var seen: UInt64 = 0
        for (bucket, n) in counts.enumerated() {
            seen += n
            if seen >= Swift.max(rank, 1) {
                return bucket < Self.bounds.count ? Swift.min(Self.bounds[bucket], max) : max
            }
        }
        return max
    }
}

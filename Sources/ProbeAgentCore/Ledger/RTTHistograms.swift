/// One RTT histogram per schedule slot, in flat arrays: `counts[slot * stride + bucket]`.
///
/// Flat storage keeps 100k targets' histograms in two allocations (no object per series) and
/// makes a scrape's copy a memcpy. Buckets are non-cumulative here; `/metrics` sums them up.
public struct RTTHistograms: Sendable {
    /// Upper bounds in nanoseconds; the bucket after the last bound is +Inf.
    public let bounds: [UInt64]
    public var stride: Int { bounds.count + 1 }
    public private(set) var counts: [UInt64] = []
    public private(set) var sumNanoseconds: [UInt64] = []

    public init(bounds: [Duration]) {
        self.bounds = bounds.map { UInt64($0.nanosecondsValue) }
    }

    /// Makes room for `slots` histograms at once, so 100k slots' arrays carry no doubling slack.
    mutating func reserveCapacity(slots: Int) {
        counts.reserveCapacity(slots * stride)
        sumNanoseconds.reserveCapacity(slots)
    }

    /// Slots with storage (every slot below this has a histogram, possibly empty).
    public var slots: Int { sumNanoseconds.count }

    mutating func record(slot: Int, nanoseconds: UInt64) {
        grow(to: slot)
        var bucket = 0
        while bucket < bounds.count && nanoseconds > bounds[bucket] { bucket += 1 }
        counts[slot * stride + bucket] += 1
        sumNanoseconds[slot] &+= nanoseconds
    }

    /// A slot now belongs to a different (monitor, target): its histogram starts over.
    mutating func reset(slot: Int) {
        guard slot < slots else { return }
        for i in slot * stride..<(slot + 1) * stride { counts[i] = 0 }
        sumNanoseconds[slot] = 0
    }

    private mutating func grow(to slot: Int) {
        guard slot >= slots else { return }
        let n = slot + 1 - slots
        counts.append(contentsOf: repeatElement(0, count: n * stride))
        sumNanoseconds.append(contentsOf: repeatElement(0, count: n))
    }
}

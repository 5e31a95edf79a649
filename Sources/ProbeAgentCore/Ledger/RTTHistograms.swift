/// One RTT histogram per schedule slot, in flat arrays: `count(slot:bucket:)` at `slot * stride + bucket`.
///
/// Flat storage keeps 100k targets' histograms in two allocations (no object per series) and
/// makes a scrape's copy a memcpy. Buckets are non-cumulative here; `/metrics` sums them up.
public struct RTTHistograms: Sendable {
    /// Upper bounds in nanoseconds; the bucket after the last bound is +Inf.
    public let bounds: [UInt64]
    public var stride: Int { bounds.count + 1 }
    /// Bucket counts, 32-bit while every one fits: half the memory of 64-bit (56 bytes a
    /// target with the 13 default bounds, the largest per-target table at 100k targets). The
    /// first count that would wrap widens the whole table to ``wide``, for good: a Prometheus
    /// counter never goes backwards. (At a 3 s cadence that takes 400 years; at 10 ms, 16 months.)
    private var narrow: [UInt32] = []
    private var wide: [UInt64]?
    public private(set) var sumNanoseconds: [UInt64] = []

    public init(bounds: [Duration]) {
        self.bounds = bounds.map { UInt64($0.nanosecondsValue) }
    }

    /// Makes room for `slots` histograms at once, so 100k slots' arrays carry no doubling slack.
    mutating func reserveCapacity(slots: Int) {
        let n = slots * stride
        if wide == nil { narrow.reserveCapacity(n) } else { wide?.reserveCapacity(n) }
        sumNanoseconds.reserveCapacity(slots)
    }

    /// Slots with storage (every slot below this has a histogram, possibly empty).
    public var slots: Int { sumNanoseconds.count }

    /// Replies of `slot` that fell in `bucket` (not cumulative).
    public func count(slot: Int, bucket: Int) -> UInt64 {
        let i = slot * stride + bucket
        return wide.map { $0[i] } ?? UInt64(narrow[i])
    }

    /// True once some count outgrew 32 bits.
    public var isWide: Bool { wide != nil }

    mutating func record(slot: Int, nanoseconds: UInt64) {
        grow(to: slot)
        var bucket = 0
        while bucket < bounds.count && nanoseconds > bounds[bucket] { bucket += 1 }
        let i = slot * stride + bucket
        if wide == nil && narrow[i] == UInt32.max { widen() }
        if wide != nil { wide![i] += 1 } else { narrow[i] += 1 }
        sumNanoseconds[slot] &+= nanoseconds
    }

    /// A slot now belongs to a different (monitor, target): its histogram starts over.
    mutating func reset(slot: Int) {
        guard slot < slots else { return }
        for i in slot * stride..<(slot + 1) * stride {
            if wide != nil { wide![i] = 0 } else { narrow[i] = 0 }
        }
        sumNanoseconds[slot] = 0
    }

    private mutating func grow(to slot: Int) {
        guard slot >= slots else { return }
        let n = slot + 1 - slots
        if wide != nil { wide!.append(contentsOf: repeatElement(0, count: n * stride)) } else {
            narrow.append(contentsOf: repeatElement(0, count: n * stride))
        }
        sumNanoseconds.append(contentsOf: repeatElement(0, count: n))
    }

    private mutating func widen() {
        var w = [UInt64]()
        w.reserveCapacity(narrow.capacity)
        w.append(contentsOf: narrow.lazy.map(UInt64.init))
        wide = w
        narrow = []
    }

    /// Tests: puts `slot`'s `bucket` one short of where 32 bits wrap.
    mutating func setNearWrap(slot: Int, bucket: Int) {
        grow(to: slot)
        if wide == nil { narrow[slot * stride + bucket] = UInt32.max }
    }
}

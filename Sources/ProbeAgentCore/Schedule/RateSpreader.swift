/// A token bucket that turns a global probes-per-second cap into "how many may go now".
///
/// Credit is kept in exact integer units of 1/10⁹ probe, refilled by `perSecond` units per
/// elapsed nanosecond, and capped at one tick's worth (at least one probe), so a long idle spell
/// does not bank a burst. Probes beyond the credit are not dropped: the schedule keeps them in
/// a FIFO and releases them on later ticks, which spreads a burst out at the capped rate.
struct RateSpreader: Sendable, Hashable {
    static let unit: UInt64 = 1_000_000_000
    let perSecond: UInt64
    let capacity: UInt64
    private(set) var credit: UInt64
    private(set) var last: UInt64

    init(perSecond: Int, tickNanos: UInt64, now: UInt64) {
        self.perSecond = UInt64(perSecond)
        let tickWorth = tickNanos.multipliedReportingOverflow(by: UInt64(perSecond))
        capacity = max(Self.unit, tickWorth.overflow ? .max : tickWorth.partialValue)
        credit = capacity
        last = now
    }

    /// Refills for the time since the last call and returns how many probes may go now.
    mutating func allowance(now: UInt64) -> Int {
        if now > last {
            let elapsed = now - last
            let (gain, overflow) = elapsed.multipliedReportingOverflow(by: perSecond)
            credit = overflow || gain >= capacity - credit ? capacity : credit + gain
            last = now
        }
        return Int(credit / Self.unit)
    }

    /// Spends the credit of `count` probes (at most what ``allowance(now:)`` returned).
    mutating func spend(_ count: Int) { credit -= UInt64(count) * Self.unit }

    /// When the next whole probe of credit will be there, in nanoseconds.
    func nextCredit() -> UInt64 {
        if credit >= Self.unit { return last }
        return last + (Self.unit - credit + perSecond - 1) / perSecond
    }
}

/// Deterministic phase offsets that spread the probes of one cadence evenly over it.
///
/// An entry's phase is `frac(base(monitor) + index · (φ − 1)) · cadence`, computed in 64-bit
/// fixed point: `base` is the stable hash of the monitor id (``StableHasher``), `index` is the
/// target's position in the monitor's target list, and `φ − 1 ≈ 0.618` is the golden-ratio
/// Weyl step. The same (monitor id, target index, cadence) gives the same phase in every process.
///
/// Why not a plain hash of (monitor, target)? A hash places each entry independently at random,
/// so with N entries over B buckets each bucket count has a standard deviation of about
/// √(N/B): at 10,000 targets in 30 buckets of 100 ms that is ±18 on a mean of 333, and some
/// bucket is >10 % off most of the time. The golden-ratio sequence instead fills the interval
/// with gaps of at most three distinct sizes (the three-gap theorem), so one monitor's targets
/// are spread almost perfectly, and the sum of such combs over monitors stays even. The monitor
/// hash only decides where each monitor's comb starts. The index is only where a target's phase
/// starts: a reload that adds or removes targets keeps every other target's entry and phase
/// (``Schedule/apply(_:now:diffs:)``), and new targets take the phase of their new index.
/// (Many single-target monitors at one cadence fall back to hash-random spreading.)
public enum PhaseSpreader {
    /// 2^64 / φ, the Weyl increment.
    static let goldenStep: UInt64 = 0x9e37_79b9_7f4a_7c15

    /// The phase fraction in 64-bit fixed point (`value / 2^64` ∈ [0, 1)).
    public static func fraction(monitorID: String, targetIndex: Int) -> UInt64 {
        var h = StableHasher()
        h.combine("phase")
        h.combine(monitorID)
        return h.finalize() &+ UInt64(truncatingIfNeeded: targetIndex) &* goldenStep
    }

    /// The phase offset of one (monitor, target) entry.
    ///
    /// - Parameters:
    ///   - monitorID: The monitor's id.
    ///   - targetIndex: The target's position in the monitor's `targets`.
    ///   - cadence: The cadence, in any unit (the scheduler uses nanoseconds).
    /// - Returns: An offset in `[0, cadence)`, in the unit of `cadence`; 0 if `cadence` is 0.
    public static func phase(monitorID: String, targetIndex: Int, cadence: UInt64) -> UInt64 {
        fraction(monitorID: monitorID, targetIndex: targetIndex).multipliedFullWidth(by: cadence).high
    }

    /// The first fire time at or after `now` on the grid `phase + k · cadence`.
    ///
    /// Fire times sit on this absolute grid, so every later fire is the previous *scheduled*
    /// fire plus the cadence, never the actual fire time plus the cadence: lateness never adds up.
    public static func firstFire(atOrAfter now: UInt64, phase: UInt64, cadence: UInt64) -> UInt64 {
        precondition(cadence > 0 && phase < cadence)
        if now <= phase { return phase }
        let periods = (now - phase + cadence - 1) / cadence
        return phase + periods * cadence
    }
}

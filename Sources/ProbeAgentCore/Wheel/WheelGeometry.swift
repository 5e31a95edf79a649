/// The level and slot arithmetic of ``TimerWheel``, kept apart so it can be tested on its own.
///
/// A deadline `d` seen from the wheel's current time `e` lives on the level given by the highest
/// bit in which `d` and `e` differ: level `L` holds deadlines that share all bits above
/// `6·(L+1)` with `e` but differ somewhere in bits `6·L ..< 6·(L+1)`, and its slot is those six
/// bits of `d`. So entries on a lower level are always due before entries on a higher one, and
/// within a level the slot order is the time order.
///
/// With 10 ms ticks (the default `scheduler.tick`):
///
///     level  slot width           level range (64 slots)     example use
///     0      1 tick   = 10 ms     640 ms                      the tick being fired
///     1      64       = 640 ms    40.96 s                     every 3 s cadence entry
///     2      4 096    = 40.96 s   43.7 min                    1 min – 30 min cadences
///     3      262 144  = 43.7 min  1.94 days                   hourly / daily checks
///     4      2^24     = 1.94 days 124 days
///     5      2^30     = 124 days  21.8 years                  anything further: overflow list
///
/// As in the kernel's `timer.c` reasoning, the coarse levels only need to be precise enough to
/// know when to look again: an entry is moved ("cascaded") one or more levels down when time
/// reaches the start of its slot, and fires from level 0 at its exact tick. An entry is cascaded
/// at most once per level, so at most five times in its life; a 3 s entry at 10 ms ticks sits on
/// level 1 and fires from there: a level-1 slot whose list is in deadline order is drained in
/// place rather than cascaded (``TimerWheel``).
public enum WheelGeometry {
    /// Slots per level (a power of two, so slot maths is shifts and masks).
    public static let slotsPerLevel = 64
    /// log2 of ``slotsPerLevel``.
    public static let slotBits = 6
    /// Levels in the wheel; deadlines further away than `64^levels` ticks wait in an overflow list.
    public static let levels = 6
    /// Ticks covered by the whole wheel: `64^6 = 2^36`.
    public static let range: UInt64 = 1 << UInt64(slotBits * levels)

    /// The level a deadline belongs on, or `levels` when it is beyond the wheel (overflow).
    ///
    /// - Parameters:
    ///   - deadline: Due tick; a deadline at or before `elapsed` is placed as if due at `elapsed`.
    ///   - elapsed: The wheel's current tick.
    public static func level(for deadline: UInt64, elapsed: UInt64) -> Int {
        let when = max(deadline, elapsed)
        // Setting the low six bits makes "same tick" land on level 0 and keeps the log defined.
        let masked = (when ^ elapsed) | UInt64(slotsPerLevel - 1)
        let significant = 63 - masked.leadingZeroBitCount
        return min(significant / slotBits, levels)
    }

    /// The slot of a deadline on a level: bits `6·level ..< 6·(level+1)` of the deadline.
    public static func slot(for deadline: UInt64, level: Int) -> Int {
        Int(truncatingIfNeeded: (deadline >> UInt64(level * slotBits)) & UInt64(slotsPerLevel - 1))
    }

    /// Ticks covered by one slot of a level: `64^level`.
    public static func slotWidth(level: Int) -> UInt64 { 1 << UInt64(level * slotBits) }

    /// The first occupied slot at or after the slot holding `elapsed`, and the tick at which that
    /// slot starts (its deadline for processing), from the level's occupancy bitmap.
    ///
    /// The bitmap is rotated so the current slot is bit 0, then `trailingZeroBitCount` finds the
    /// next occupied one: O(1).
    public static func nextOccupied(bitmap: UInt64, level: Int, elapsed: UInt64) -> (slot: Int, start: UInt64)? {
        guard bitmap != 0 else { return nil }
        let shift = UInt64(level * slotBits)
        let nowSlot = Int(truncatingIfNeeded: (elapsed >> shift) & 63)
        let rotated = nowSlot == 0 ? bitmap : (bitmap >> UInt64(nowSlot)) | (bitmap << UInt64(64 - nowSlot))
        let slot = (rotated.trailingZeroBitCount + nowSlot) & 63
        let levelRange = shift + 6 >= 64 ? UInt64.max : (1 << (shift + 6))
        let levelStart = shift + 6 >= 64 ? 0 : elapsed & ~(levelRange - 1)
        var start = levelStart &+ (UInt64(slot) << shift)
        // A slot behind the current one belongs to the level's next turn; the placement rule
        // never produces one, but the arithmetic stays right if it ever did.
        if slot < nowSlot { start &+= levelRange }
        return (slot, start)
    }
}

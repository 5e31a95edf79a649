// A hierarchical timer wheel with O(1) insert and cancel, driven by a clock the caller owns.
//
// Data structure: six levels of 64 slots (see WheelGeometry for the level/slot maths and the
// granularity table). Each slot is an intrusive doubly-linked FIFO list threaded through one
// flat node array (indices, not pointers; freed nodes go on a free list and are reused, so a
// steady-state schedule allocates nothing). Each level keeps a 64-bit occupancy bitmap, one bit
// per non-empty slot. Deadlines more than 2^36 ticks ahead wait in an unsorted overflow list.
//
// Cost:
//   insert   O(1): compute level and slot, append to the slot's list, set a bit.
//   cancel   O(1): unlink by index; a handle carries a generation, so a stale handle (entry
//            already fired or cancelled, node reused) is detected and ignored.
//   advance  O(levels) to find the next occupied slot (rotate the bitmap, trailingZeroBitCount),
//            plus O(1) per entry fired and per entry cascaded; each entry cascades at most once
//            per level. Time with nothing due costs O(levels) per jump, not per tick.
//   draining a level-1 slot is not a cascade: a schedule re-inserts what it fires, in firing
//            order, one cadence later, so the slot's list is in deadline order, and the clock
//            entering its 64 ticks makes it the draining list, which fires from its head tick by
//            tick. An entry placed on level 1 earlier than its list's tail (a target a reload or
//            a discovery refresh added, at its own phase) goes to the slot's late list instead,
//            so the list stays in order; entering the slot moves only the late list to level 0.
//            A cascade moves every entry of a slot at once: at 200k targets on a 3 s cadence
//            that is 43k entries every 640 ms (~5.5 ms in one loop turn); at 100k, before late
//            lists, 500 new targets of a refresh put ~5 slots out of order and the loop spent
//            ~25 ms cascading them over the next 3 s, some turns over 10 ms (perf of the loop
//            thread during scripts/bench-sd-refresh.sh).
//   overflow when the clock enters a new 2^36-tick span, the overflow list is walked once
//            (O(n) in its length), re-placing what is now in range. Honest note: entries that far
//            out (21.8 years at 10 ms ticks) are expected to be rare.
//
// The wheel never reads a clock: `advance(to:into:)` takes the current tick, and ticks are
// whatever unit the caller chose (the scheduler uses `scheduler.tick`, 10 ms by default).
// Model: tokio's runtime/time/wheel (levels, bitmap, caller-driven time); Linux
// kernel/time/timer.c for the granularity reasoning.

/// Identifies one inserted entry, for ``TimerWheel/cancel(_:)``.
public struct TimerHandle: Hashable, Sendable {
    let index: Int32
    let generation: UInt32
}

/// An entry that came due.
public struct TimerEntry: Hashable, Sendable {
    /// The caller's id, as passed to ``TimerWheel/insert(id:deadline:)``.
    public var id: UInt64
    /// The tick it was due at (may be before the tick it was fired at, if the caller was late).
    public var deadline: UInt64
    /// The handle it was inserted with (no longer valid: fired entries are removed).
    public var handle: TimerHandle
}

/// A hierarchical timer wheel: 64-slot levels, occupancy bitmaps, caller-driven time.
///
/// Not thread-safe; one owner drives it. It is `Sendable` as a value (copy-on-write arrays), so an
/// owner may hand it to another task.
public struct TimerWheel: Sendable {
    struct Node: Sendable {
        var id: UInt64 = 0
        var deadline: UInt64 = 0
        var prev: Int32 = -1
        var next: Int32 = -1
        /// Index of the list holding the node (`level * 64 + slot`, or the overflow list), -1 if free.
        var list: Int32 = -1
        var generation: UInt32 = 0
    }

    var nodes: [Node] = []
    var freeHead: Int32 = -1
    /// Head and tail per list: `levels * 64` slot lists, the overflow list, then a late list
    /// per level-1 slot (entries placed out of deadline order, see the cost notes above).
    /// A level-1 slot's bit is set while its list or its late list holds an entry.
    var heads: [Int32]
    var tails: [Int32]
    var occupied: [UInt64]
    /// A lower bound of the overflow list's deadlines (exact after each walk).
    var overflowMin: UInt64 = .max
    /// The level-1 list being drained in place (its slot's bit is clear), or -1. Its entries
    /// are all due within the 64-tick window `elapsed` is in, so no placement can reach its
    /// slot until it is empty, and it empties before the clock leaves that window.
    var draining: Int32 = -1

    /// The tick the wheel has been advanced to.
    public private(set) var elapsed: UInt64
    /// Entries currently in the wheel.
    public private(set) var count = 0

    static let overflowList = Int32(WheelGeometry.levels * WheelGeometry.slotsPerLevel)
    /// The first late list; level-1 slot `s`'s is `lateLists + s`.
    static let lateLists = Int(overflowList) + 1

    /// Creates an empty wheel whose time starts at `start`.
    public init(start: UInt64 = 0) {
        elapsed = start
        let lists = Self.lateLists + WheelGeometry.slotsPerLevel
        heads = Array(repeating: -1, count: lists)
        tails = Array(repeating: -1, count: lists)
        occupied = Array(repeating: 0, count: WheelGeometry.levels)
    }

    /// Makes room for `n` entries at once (a schedule knows its size up front), so the node
    /// array is not left with the slack of repeated doubling.
    public mutating func reserveCapacity(_ n: Int) { nodes.reserveCapacity(n) }

    /// Whether the wheel holds no entry.
    public var isEmpty: Bool { count == 0 }

    /// Adds an entry. O(1).
    ///
    /// - Parameters:
    ///   - id: The caller's id, returned in the ``TimerEntry`` when it fires.
    ///   - deadline: The tick it is due at; a tick at or before ``elapsed`` fires on the next
    ///     ``advance(to:into:)``.
    /// - Returns: A handle for ``cancel(_:)``.
    @discardableResult
    public mutating func insert(id: UInt64, deadline: UInt64) -> TimerHandle {
        let index = allocate()
        nodes[Int(index)].id = id
        nodes[Int(index)].deadline = deadline
        place(index)
        count += 1
        return TimerHandle(index: index, generation: nodes[Int(index)].generation)
    }

    /// Removes an entry before it fires. O(1).
    ///
    /// - Returns: `true` if the entry was in the wheel; `false` for a handle whose entry already
    ///   fired or was cancelled.
    @discardableResult
    public mutating func cancel(_ handle: TimerHandle) -> Bool {
        guard handle.index >= 0, Int(handle.index) < nodes.count else { return false }
        let node = nodes[Int(handle.index)]
        guard node.list >= 0, node.generation == handle.generation else { return false }
        unlink(handle.index)
        release(handle.index)
        count -= 1
        return true
    }

    /// The deadline of an entry still in the wheel.
    public func deadline(of handle: TimerHandle) -> UInt64? {
        guard handle.index >= 0, Int(handle.index) < nodes.count else { return nil }
        let node = nodes[Int(handle.index)]
        return node.list >= 0 && node.generation == handle.generation ? node.deadline : nil
    }

    /// The earliest tick at which ``advance(to:into:)`` may have work, or `nil` when empty.
    ///
    /// Exact when the earliest entry is on level 0; otherwise the start of the slot that holds
    /// it (cascading happens then), which is never later than any entry's deadline. Sleeping
    /// until this tick therefore never oversleeps. O(levels).
    public func nextDeadline() -> UInt64? {
        let drain = drainingHead.map { max(nodes[Int($0)].deadline, elapsed) }
        for level in 0..<WheelGeometry.levels {
            if let next = WheelGeometry.nextOccupied(bitmap: occupied[level], level: level, elapsed: elapsed) {
                return min(max(next.start, elapsed), drain ?? .max)
            }
        }
        if let drain { return drain }
        return heads[Int(Self.overflowList)] >= 0 ? max(overflowMin, elapsed) : nil
    }

    /// The head of the draining list, if it holds anything.
    var drainingHead: Int32? {
        guard draining >= 0, heads[Int(draining)] >= 0 else { return nil }
        return heads[Int(draining)]
    }

    /// Moves time forward to `now` and appends every entry due at or before it to `due`, in
    /// deadline order (entries due at the same tick in insertion order).
    ///
    /// - Parameters:
    ///   - now: The current tick; a tick before ``elapsed`` is treated as ``elapsed``.
    ///   - due: Receives the entries that came due; they are removed from the wheel.
    public mutating func advance(to now: UInt64, into due: inout [TimerEntry]) {
        let now = max(now, elapsed)
        while true {
            pullOverflowIfInRange()
            var expiry: (level: Int, slot: Int, start: UInt64)?
            for level in 0..<WheelGeometry.levels {
                if let next = WheelGeometry.nextOccupied(bitmap: occupied[level], level: level, elapsed: elapsed) {
                    expiry = (level, next.slot, next.start)
                    break
                }
            }
            // The draining list's next tick goes first when no slot starts before it (on a
            // tie it was placed before whatever shares its tick on level 0, as a cascade would).
            if let head = drainingHead, nodes[Int(head)].deadline <= now,
               expiry.map({ nodes[Int(head)].deadline <= $0.start }) ?? true {
                elapsed = max(elapsed, nodes[Int(head)].deadline)
                fireDraining(into: &due)
            } else if let expiry, expiry.start <= now {
                elapsed = max(elapsed, expiry.start)
                process(level: expiry.level, slot: expiry.slot, into: &due)
            } else if expiry == nil, heads[Int(Self.overflowList)] >= 0, overflowMin <= now {
                // Nothing in the wheel before the overflow list: jump there and re-place it.
                elapsed = max(elapsed, overflowMin)
            } else {
                elapsed = now
                pullOverflowIfInRange()
                return
            }
        }
    }

    /// Fires or cascades every entry of one slot; a level-1 slot's list becomes the draining
    /// list instead, and only its late list moves to level 0 (see the cost notes at the top).
    private mutating func process(level: Int, slot: Int, into due: inout [TimerEntry]) {
        let list = level * WheelGeometry.slotsPerLevel + slot
        occupied[level] &= ~(1 << UInt64(slot))
        guard level == 1 else { return cascade(list, into: &due) }
        let late = Self.lateLists + slot
        if drainingHead == nil {
            if heads[list] >= 0 { draining = Int32(list) }
            // Placed, never fired here: an entry due at this tick is then on level 0, and the
            // draining list's entries of the tick (placed before it) fire first.
            placeEach(of: late)
        } else {
            cascade(list, into: &due)
            cascade(late, into: &due)
        }
    }

    /// Fires the entries of `list` due by ``elapsed`` and places the others on lower levels.
    private mutating func cascade(_ list: Int, into due: inout [TimerEntry]) {
        var index = heads[list]
        heads[list] = -1
        tails[list] = -1
        while index >= 0 {
            let next = nodes[Int(index)].next
            let node = nodes[Int(index)]
            if node.deadline <= elapsed {
                due.append(TimerEntry(id: node.id, deadline: node.deadline,
                                      handle: TimerHandle(index: index, generation: node.generation)))
                nodes[Int(index)].list = -1
                release(index)
                count -= 1
            } else {
                place(index)
            }
            index = next
        }
    }

    /// Fires the draining list's entries due at or before `elapsed`, from its head.
    private mutating func fireDraining(into due: inout [TimerEntry]) {
        while let index = drainingHead, nodes[Int(index)].deadline <= elapsed {
            let node = nodes[Int(index)]
            unlink(index)
            due.append(TimerEntry(id: node.id, deadline: node.deadline, handle: TimerHandle(index: index, generation: node.generation)))
            release(index)
            count -= 1
        }
        if drainingHead == nil { draining = -1 }
    }

    /// Moves overflow entries into the wheel once the clock has reached their 2^36-tick span.
    private mutating func pullOverflowIfInRange() {
        let list = Int(Self.overflowList)
        guard heads[list] >= 0,
              WheelGeometry.level(for: overflowMin, elapsed: elapsed) < WheelGeometry.levels else { return }
        overflowMin = .max
        placeEach(of: list)
    }

    /// Empties `list`, placing each of its entries where its deadline now belongs.
    private mutating func placeEach(of list: Int) {
        var index = heads[list]
        (heads[list], tails[list]) = (-1, -1)
        while index >= 0 {
            let next = nodes[Int(index)].next
            place(index)
            index = next
        }
    }
}

/// The probe schedule: one entry per (monitor, target) on a timer wheel, driven by the caller's
/// clock.
///
/// Time is nanoseconds on whatever monotonic clock the caller uses (tests pass plain integers).
/// Each entry fires on the grid `phase + k · cadence` (see ``PhaseSpreader``): the next fire is
/// the previous *scheduled* fire plus the cadence, so a late tick never shifts later fires. The
/// wheel runs at `scheduler.tick` resolution and deadlines are rounded up to a tick, so no probe
/// fires early; lateness (actual − scheduled) goes into ``lateness``.
///
/// ``poll(now:)`` returns the due probes grouped into one batch per protocol. An entry whose
/// previous probe is still in flight (no ``complete(_:)`` yet) is skipped and counted, never
/// sent twice. With `max_probes_per_second` set, probes beyond the cap wait in a FIFO and go
/// out on later polls: deferred, never dropped.
///
/// `Schedule` is a value: ``apply(_:now:)`` can run on a copy while the old one keeps serving,
/// and the arrays underneath are shared copy-on-write until then.
public struct Schedule: Sendable {
    /// One entry's own state; what its monitor's entries share is in ``MonitorPlan``.
    /// 32 bytes: this table has one row per (monitor, target).
    struct Slot: Sendable {
        /// The next scheduled fire time; `nextFire % cadence` is the entry's phase.
        var nextFire: UInt64 = 0
        var generation: UInt32 = 0
        /// Index into `plans`, -1 for a free slot.
        var plan: Int32 = -1
        var targetIndex: Int32 = 0
        var handle: TimerHandle?
        var inFlight = false
        var pending = false

        var isLive: Bool { plan >= 0 }
    }

    var slots: [Slot] = []
    var freeSlots: [Int32] = []
    /// Per monitor; a removed monitor's plan is vacant until a new monitor reuses its index.
    var plans: [MonitorPlan] = []
    var freePlans: [Int32] = []
    var planIndex: [String: Int32] = [:]
    var wheel: TimerWheel
    var tickNanos: UInt64
    var rate: RateSpreader?
    /// Due probes waiting for rate credit, oldest first; `pendingHead` is the next to go.
    var pendingQueue: [(cookie: ProbeCookie, scheduled: UInt64)] = []
    var pendingHead = 0

    /// Lateness of every probe handed out (actual − scheduled), in nanoseconds.
    public internal(set) var lateness = DurationHistogram()
    /// Counters: fired, skipped, deferred, missed, stale.
    public internal(set) var stats = ScheduleStats()

    /// Builds the schedule of a config, every entry at its first grid point at or after `now`.
    ///
    /// - Parameters:
    ///   - config: A validated config; `scheduler.tick` and `scheduler.max_probes_per_second` apply.
    ///   - now: The current time, in nanoseconds.
    public init(config: AgentConfig, now: UInt64) {
        tickNanos = UInt64(max(1, config.scheduler.tick.nanosecondsValue))
        wheel = TimerWheel(start: now / tickNanos)
        rate = config.scheduler.maxProbesPerSecond.map { RateSpreader(perSecond: $0, tickNanos: tickNanos, now: now) }
        slots.reserveCapacity(config.targetCount) // exact: no doubling slack on the largest tables
        wheel.reserveCapacity(config.targetCount)
        for monitor in config.monitors { add(monitor, now: now) }
    }

    /// Every live entry, in slot order.
    public var entries: [ScheduleEntry] {
        var out: [ScheduleEntry] = []
        forEachEntry { _, e in out.append(e) }
        return out
    }

    /// Every live entry with the cookie its next probe will carry (its slot identifies the
    /// entry's result record; see ``ResultLedger``).
    public var entriesWithCookies: [(cookie: ProbeCookie, entry: ScheduleEntry)] {
        var out: [(cookie: ProbeCookie, entry: ScheduleEntry)] = []
        forEachEntry { c, e in out.append((c, e)) }
        return out
    }

    /// Calls `body` with every live entry and its cookie, in slot order, without building an
    /// array of them (a 100k-target walk for the status file or a scrape stays O(1) in memory).
    public func forEachEntry(_ body: (ProbeCookie, ScheduleEntry) throws -> Void) rethrows {
        for i in slots.indices where slots[i].isLive {
            try body(ProbeCookie(slot: i, generation: slots[i].generation), entry(at: i))
        }
    }

    /// The cookies of one monitor's entries, in target order (O(its targets)).
    public func cookies(monitorID: String) -> [ProbeCookie] {
        plan(monitorID)?.slots.map { ProbeCookie(slot: Int($0), generation: slots[Int($0)].generation) } ?? []
    }

    /// The entries of one monitor, in target order.
    public func entries(monitorID: String) -> [ScheduleEntry] {
        plan(monitorID)?.slots.map { entry(at: Int($0)) } ?? []
    }

    /// The entry a cookie names, or `nil` if it was removed since.
    public func entry(for cookie: ProbeCookie) -> ScheduleEntry? {
        isLive(cookie) ? entry(at: cookie.slot) : nil
    }

    /// What a result needs of its entry — monitor, target, protocol — without building a whole
    /// ``ScheduleEntry`` (the loop asks once per result).
    public func owner(of cookie: ProbeCookie) -> (monitorID: String, target: String, probeProtocol: ProbeProtocol)? {
        guard isLive(cookie) else { return nil }
        let pi = Int(slots[cookie.slot].plan)
        return (plans[pi].id, plans[pi].targets[Int(slots[cookie.slot].targetIndex)], plans[pi].probeProtocol)
    }

    /// Whether a cookie still names a live entry (cheaper than ``entry(for:)``: builds nothing).
    public func isLive(_ cookie: ProbeCookie) -> Bool {
        cookie.slot < slots.count && slots[cookie.slot].isLive && slots[cookie.slot].generation == cookie.generation
    }

    func plan(_ monitorID: String) -> MonitorPlan? { planIndex[monitorID].map { plans[Int($0)] } }

    /// The public view of a live slot: its own fields plus its monitor's shared ones.
    func entry(at slot: Int) -> ScheduleEntry {
        let s = slots[slot]
        let p = plans[Int(s.plan)]
        return ScheduleEntry(
            monitorID: p.id, target: p.targets[Int(s.targetIndex)], targetIndex: Int(s.targetIndex),
            probeProtocol: p.probeProtocol, port: p.port, timeout: p.timeout, cadence: p.cadence,
            phase: s.nextFire % p.cadence, nextFire: s.nextFire)
    }

    /// Probes handed out and not yet completed.
    public var inFlightCount: Int { slots.reduce(0) { $0 + ($1.inFlight ? 1 : 0) } }

    /// Probes due but held back by the rate cap.
    public var pendingCount: Int { pendingQueue.count - pendingHead }

    /// The earliest time at which ``poll(now:)`` may have something to do, in nanoseconds, or
    /// `nil` when there are no entries. Never later than the next due probe.
    public func nextDeadline() -> UInt64? {
        let wheelNext = wheel.nextDeadline().map { $0 * tickNanos }
        guard pendingCount > 0, let rate else { return wheelNext }
        return min(rate.nextCredit(), wheelNext ?? .max)
    }

    /// Takes every probe due at `now`, grouped by protocol.
    ///
    /// - Parameter now: The current time, in nanoseconds; it must not go backwards.
    /// - Returns: At most one batch per protocol, in ``ProbeProtocol`` order; empty if nothing
    ///   is due. Each probe is marked in flight until ``complete(_:)`` is called with its cookie.
    public mutating func poll(now: UInt64) -> [ProbeBatch] {
        var due: [TimerEntry] = []
        wheel.advance(to: now / tickNanos, into: &due)
        let firstNew = pendingQueue.count
        for timer in due {
            let cookie = ProbeCookie(rawValue: timer.id)
            guard isLive(cookie) else { continue }
            let cadence = plans[Int(slots[cookie.slot].plan)].cadence
            let scheduled = slots[cookie.slot].nextFire
            var next = scheduled + cadence
            if next <= now {
                let missed = (now - next) / cadence + 1
                stats.missedPeriods += missed
                next += missed * cadence
            }
            slots[cookie.slot].nextFire = next
            slots[cookie.slot].handle = wheel.insert(id: cookie.rawValue, deadline: ceilTick(next))
            if slots[cookie.slot].inFlight || slots[cookie.slot].pending {
                stats.skippedInFlight += 1
                continue
            }
            slots[cookie.slot].pending = true
            pendingQueue.append((cookie, scheduled))
        }
        var limiter = rate
        let allowed = limiter?.allowance(now: now) ?? Int.max
        var released = 0
        // Per protocol, in ProbeProtocol order; an array, not a dictionary: this runs per probe.
        var byProtocol = [[DueProbe]](repeating: [], count: ProbeProtocol.allCases.count)
        while released < allowed, pendingHead < pendingQueue.count {
            let (cookie, scheduled) = pendingQueue[pendingHead]
            pendingHead += 1
            guard isLive(cookie) else { continue }
            released += 1
            slots[cookie.slot].pending = false
            slots[cookie.slot].inFlight = true
            lateness.record(now >= scheduled ? now - scheduled : 0)
            stats.fired += 1
            let ti = Int(slots[cookie.slot].targetIndex)
            let pi = Int(slots[cookie.slot].plan)
            // Field by field: a `let` copy of the whole plan would retain and release each of
            // its arrays and strings per probe.
            byProtocol[plans[pi].probeProtocol.order].append(
                DueProbe(cookie: cookie, monitorID: plans[pi].id, target: plans[pi].targets[ti], targetIndex: ti,
                         port: plans[pi].port, timeout: plans[pi].timeout, scheduled: scheduled))
        }
        limiter?.spend(released)
        rate = limiter
        stats.deferredByRateCap += UInt64(max(0, pendingQueue.count - max(pendingHead, firstNew)))
        compactPendingQueue()
        return ProbeProtocol.allCases.compactMap { proto in
            byProtocol[proto.order].isEmpty ? nil : ProbeBatch(probeProtocol: proto, probes: byProtocol[proto.order])
        }
    }

    /// Marks a probe's result as received, so its entry may fire again.
    ///
    /// - Parameter cookie: The cookie from the ``DueProbe``, as echoed by the engine.
    /// - Returns: `true` if the cookie names a live entry with a probe in flight; `false` for a
    ///   stale cookie (entry removed or replaced by a reload), whose result must be discarded.
    @discardableResult
    public mutating func complete(_ cookie: ProbeCookie) -> Bool {
        guard isLive(cookie), slots[cookie.slot].inFlight else {
            stats.staleResults += 1
            return false
        }
        slots[cookie.slot].inFlight = false
        return true
    }

    func ceilTick(_ nanos: UInt64) -> UInt64 { nanos / tickNanos + (nanos % tickNanos == 0 ? 0 : 1) }

    /// Capacity the drained pending queue keeps for the next polls (a tick's worth at 100k
    /// targets is ~350). A burst (start-up, a stalled loop) may have grown it to a whole cadence
    /// of probes: that is let go once drained, not kept for good.
    static let keptQueueCapacity = 16_384

    mutating func compactPendingQueue() {
        if pendingHead == pendingQueue.count {
            pendingQueue.removeAll(keepingCapacity: pendingQueue.capacity <= Self.keptQueueCapacity)
            pendingHead = 0
        } else if pendingHead > 1024 && pendingHead * 2 > pendingQueue.count {
            pendingQueue.removeFirst(pendingHead)
            pendingHead = 0
        }
    }
}

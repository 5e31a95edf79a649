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
    struct Slot: Sendable {
        var entry: ScheduleEntry?
        var generation: UInt32 = 0
        var handle: TimerHandle?
        var inFlight = false
        var pending = false
    }

    var slots: [Slot] = []
    var freeSlots: [Int] = []
    var byMonitor: [String: [Int]] = [:]
    var monitorHashes: [String: UInt64] = [:]
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
        for monitor in config.monitors { add(monitor, now: now) }
    }

    /// Every live entry, in monitor then target order of insertion.
    public var entries: [ScheduleEntry] { slots.compactMap(\.entry) }

    /// Every live entry with the cookie its next probe will carry (its slot identifies the
    /// entry's result record; see ``ResultLedger``).
    public var entriesWithCookies: [(cookie: ProbeCookie, entry: ScheduleEntry)] {
        slots.enumerated().compactMap { i, s in s.entry.map { (ProbeCookie(slot: i, generation: s.generation), $0) } }
    }

    /// The cookies of one monitor's entries, in target order (O(its targets)).
    public func cookies(monitorID: String) -> [ProbeCookie] {
        (byMonitor[monitorID] ?? []).map { ProbeCookie(slot: $0, generation: slots[$0].generation) }
    }

    /// The entries of one monitor, in target order.
    public func entries(monitorID: String) -> [ScheduleEntry] {
        (byMonitor[monitorID] ?? []).compactMap { slots[$0].entry }
    }

    /// The entry a cookie names, or `nil` if it was removed since.
    public func entry(for cookie: ProbeCookie) -> ScheduleEntry? {
        guard cookie.slot < slots.count, slots[cookie.slot].generation == cookie.generation else { return nil }
        return slots[cookie.slot].entry
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
            guard var entry = entry(for: cookie) else { continue }
            let scheduled = entry.nextFire
            var next = scheduled + entry.cadence
            if next <= now {
                let missed = (now - next) / entry.cadence + 1
                stats.missedPeriods += missed
                next += missed * entry.cadence
            }
            entry.nextFire = next
            slots[cookie.slot].entry = entry
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
        var byProtocol: [ProbeProtocol: [DueProbe]] = [:]
        while released < allowed, pendingHead < pendingQueue.count {
            let (cookie, scheduled) = pendingQueue[pendingHead]
            pendingHead += 1
            guard let entry = entry(for: cookie) else { continue }
            released += 1
            slots[cookie.slot].pending = false
            slots[cookie.slot].inFlight = true
            lateness.record(now >= scheduled ? now - scheduled : 0)
            stats.fired += 1
            byProtocol[entry.probeProtocol, default: []].append(
                DueProbe(cookie: cookie, monitorID: entry.monitorID, target: entry.target, port: entry.port,
                         timeout: entry.timeout, scheduled: scheduled))
        }
        limiter?.spend(released)
        rate = limiter
        stats.deferredByRateCap += UInt64(max(0, pendingQueue.count - max(pendingHead, firstNew)))
        compactPendingQueue()
        return ProbeProtocol.allCases.compactMap { proto in
            byProtocol[proto].map { ProbeBatch(probeProtocol: proto, probes: $0) }
        }
    }

    /// Marks a probe's result as received, so its entry may fire again.
    ///
    /// - Parameter cookie: The cookie from the ``DueProbe``, as echoed by the engine.
    /// - Returns: `true` if the cookie names a live entry with a probe in flight; `false` for a
    ///   stale cookie (entry removed or replaced by a reload), whose result must be discarded.
    @discardableResult
    public mutating func complete(_ cookie: ProbeCookie) -> Bool {
        guard entry(for: cookie) != nil, slots[cookie.slot].inFlight else {
            stats.staleResults += 1
            return false
        }
        slots[cookie.slot].inFlight = false
        return true
    }

    func ceilTick(_ nanos: UInt64) -> UInt64 { nanos / tickNanos + (nanos % tickNanos == 0 ? 0 : 1) }

    mutating func compactPendingQueue() {
        if pendingHead == pendingQueue.count {
            pendingQueue.removeAll(keepingCapacity: true)
            pendingHead = 0
        } else if pendingHead > 1024 && pendingHead * 2 > pendingQueue.count {
            pendingQueue.removeFirst(pendingHead)
            pendingHead = 0
        }
    }
}

extension Schedule {
    /// Applies a new config: a target is (monitor, target, port) and keeps its entry across
    /// every reload that does not change how its monitor probes.
    ///
    /// - A monitor whose protocol, port, cadence and timeout are unchanged keeps every entry of
    ///   the targets it still lists: phase, next fire time, cookie and in-flight state (so its
    ///   counters in the ``ResultLedger`` too). Entries of targets it no longer lists are
    ///   removed (their cookies go stale); new targets get entries at their first grid point
    ///   at or after `now`. Labels and `depends_on` are not the schedule's business.
    /// - A monitor whose protocol, port, cadence or timeout changed is rescheduled whole: old
    ///   entries removed, new ones placed on the new grid from `now`.
    /// - New monitors are added, removed ones cancelled.
    ///
    /// A new `scheduler.tick` re-places every entry on a wheel of the new resolution, keeping
    /// fire times; a new rate cap takes effect at once.
    ///
    /// - Parameters:
    ///   - config: The new, validated config.
    ///   - now: The current time, in nanoseconds.
    ///   - diffs: target diffs computed off the loop, by monitor id (``TargetDiff``); used
    ///     when computed against the list the schedule has, else computed here.
    /// - Returns: What changed, and the cookies whose results must now be discarded.
    @discardableResult
    public mutating func apply(_ config: AgentConfig, now: UInt64, diffs: [String: TargetDiff] = [:]) -> ReloadReport {
        var report = ReloadReport()
        let newIDs = Set(config.monitors.map(\.id))
        for id in planIndex.keys.sorted() where !newIDs.contains(id) {
            report.removed.append(id)
            remove(monitorID: id, into: &report)
        }
        for monitor in config.monitors {
            guard let plan = planIndex[monitor.id].map(Int.init) else {
                report.added.append(monitor.id)
                add(monitor, now: now)
                continue
            }
            if !plans[plan].probesAlike(monitor) {
                report.changed.append(monitor.id)
                remove(monitorID: monitor.id, into: &report)
                add(monitor, now: now)
            } else if plans[plan].targets == monitor.targets {
                report.unchanged.append(monitor.id)
                // Same contents: take the new config's array, so the old config's can be freed.
                plans[plan].targets = monitor.targets
            } else {
                report.retargeted.append(monitor.id)
                let hint = diffs[monitor.id]
                let diff = hint.flatMap { $0.base == plans[plan].targets ? $0 : nil }
                    ?? TargetDiff(from: plans[plan].targets, to: monitor.targets)
                let start = report.removedCookies.count
                retarget(plan, to: monitor.targets, diff: diff, now: now, into: &report)
                report.removedSpan[monitor.id] = start..<report.removedCookies.count
            }
        }
        let newTick = UInt64(max(1, config.scheduler.tick.nanosecondsValue))
        if newTick != tickNanos {
            tickNanos = newTick
            rebuildWheel(now: now)
        }
        if config.scheduler.maxProbesPerSecond != rate.map({ Int($0.perSecond) }) {
            rate = config.scheduler.maxProbesPerSecond.map { RateSpreader(perSecond: $0, tickNanos: tickNanos, now: now) }
        }
        return report
    }

    /// Adds one entry per target of a monitor, each at its first grid point at or after `now`.
    mutating func add(_ monitor: MonitorConfig, now: UInt64) {
        let plan = freePlans.popLast() ?? { plans.append(.vacant); return Int32(plans.count - 1) }()
        plans[Int(plan)] = MonitorPlan(monitor, slots: [])
        planIndex[monitor.id] = plan
        var slots: [Int32] = []
        slots.reserveCapacity(monitor.targets.count)
        for index in monitor.targets.indices { slots.append(addEntry(plan: Int(plan), targetIndex: index, now: now)) }
        plans[Int(plan)].slots = slots
    }

    /// One new entry of `plan` for its target `targetIndex`, at its phase's first grid point at
    /// or after `now`; returns its slot.
    mutating func addEntry(plan: Int, targetIndex index: Int, now: UInt64) -> Int32 {
        let cadence = plans[plan].cadence
        // Phases sit on the tick grid: the wheel fires at tick boundaries, so an unaligned
        // phase would make every probe up to a tick late (measured: p50 lateness = 1 tick).
        var phase = PhaseSpreader.phase(monitorID: plans[plan].id, targetIndex: index, cadence: cadence)
        phase -= phase % tickNanos
        let slot = Int(freeSlots.popLast() ?? { slots.append(Slot()); return Int32(slots.count - 1) }())
        let cookie = ProbeCookie(slot: slot, generation: slots[slot].generation)
        slots[slot].plan = Int32(plan)
        slots[slot].targetIndex = Int32(index)
        slots[slot].nextFire = PhaseSpreader.firstFire(atOrAfter: now, phase: phase, cadence: cadence)
        slots[slot].handle = wheel.insert(id: cookie.rawValue, deadline: ceilTick(slots[slot].nextFire))
        return Int32(slot)
    }

    /// Gives a plan its new target list: kept targets keep their slots (only their index
    /// moves), new ones get entries, the rest are removed. O(targets), no hashing (``TargetDiff``
    /// did that).
    mutating func retarget(_ plan: Int, to targets: [String], diff: TargetDiff, now: UInt64, into report: inout ReloadReport) {
        let old = plans[plan].slots
        plans[plan].targets = targets
        var kept = [Bool](repeating: false, count: old.count)
        var slotsNow: [Int32] = []
        slotsNow.reserveCapacity(targets.count)
        for (index, was) in diff.oldIndex.enumerated() {
            if was >= 0 {
                let s = old[Int(was)]
                kept[Int(was)] = true
                slots[Int(s)].targetIndex = Int32(index)
                slotsNow.append(s)
            } else {
                slotsNow.append(addEntry(plan: plan, targetIndex: index, now: now))
            }
        }
        for (i, s) in old.enumerated() where !kept[i] { removeEntry(Int(s), into: &report) }
        plans[plan].slots = slotsNow
    }

    /// Removes a monitor's entries: cancels their timers and bumps their slots' generations so
    /// every cookie handed out for them goes stale.
    mutating func remove(monitorID: String, into report: inout ReloadReport) {
        guard let plan = planIndex.removeValue(forKey: monitorID) else { return }
        for s in plans[Int(plan)].slots { removeEntry(Int(s), into: &report) }
        plans[Int(plan)] = .vacant
        freePlans.append(plan)
    }

    /// Removes one entry: cancels its timer and bumps its slot's generation so every cookie
    /// handed out for it goes stale.
    mutating func removeEntry(_ slot: Int, into report: inout ReloadReport) {
        let cookie = ProbeCookie(slot: slot, generation: slots[slot].generation)
        report.removedCookies.append(cookie)
        if slots[slot].inFlight { report.discardedInFlight.append(cookie) }
        if let handle = slots[slot].handle { wheel.cancel(handle) }
        slots[slot] = Slot(generation: slots[slot].generation &+ 1)
        freeSlots.append(Int32(slot))
    }

    /// Re-places every entry on a fresh wheel (after a tick change), keeping fire times.
    mutating func rebuildWheel(now: UInt64) {
        wheel = TimerWheel(start: now / tickNanos)
        for slot in slots.indices where slots[slot].isLive {
            let cookie = ProbeCookie(slot: slot, generation: slots[slot].generation)
            slots[slot].handle = wheel.insert(id: cookie.rawValue, deadline: ceilTick(slots[slot].nextFire))
        }
    }
}

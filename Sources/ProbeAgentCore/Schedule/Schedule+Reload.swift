extension Schedule {
    /// Applies a new config: unchanged monitors keep everything, changed ones are rescheduled,
    /// removed ones are cancelled.
    ///
    /// A monitor is unchanged when its ``MonitorConfig/configHash`` is the same; its entries keep
    /// their phase, next fire time, cookie and in-flight state, so probing them never pauses.
    /// A changed monitor's old entries are removed (their cookies go stale) and new entries are
    /// placed on the new config's grid from `now`. New monitors are added the same way. A new
    /// `scheduler.tick` re-places every entry on a wheel of the new resolution, keeping fire
    /// times; a new rate cap takes effect at once.
    ///
    /// - Parameters:
    ///   - config: The new, validated config.
    ///   - now: The current time, in nanoseconds.
    /// - Returns: What changed, and the cookies whose results must now be discarded.
    @discardableResult
    public mutating func apply(_ config: AgentConfig, now: UInt64) -> ReloadReport {
        var report = ReloadReport()
        let newIDs = Set(config.monitors.map(\.id))
        for id in planIndex.keys.sorted() where !newIDs.contains(id) {
            report.removed.append(id)
            remove(monitorID: id, into: &report)
        }
        for monitor in config.monitors {
            switch planIndex[monitor.id].map({ plans[Int($0)].configHash }) {
            case monitor.configHash?:
                report.unchanged.append(monitor.id)
                // Same contents: take the new config's array, so the old config's can be freed.
                plans[Int(planIndex[monitor.id]!)].targets = monitor.targets
            case _?:
                report.changed.append(monitor.id)
                remove(monitorID: monitor.id, into: &report)
                add(monitor, now: now)
            case nil:
                report.added.append(monitor.id)
                add(monitor, now: now)
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
        var p = MonitorPlan(monitor, slots: [])
        p.slots.reserveCapacity(monitor.targets.count)
        for index in monitor.targets.indices {
            // Phases sit on the tick grid: the wheel fires at tick boundaries, so an unaligned
            // phase would make every probe up to a tick late (measured: p50 lateness = 1 tick).
            var phase = PhaseSpreader.phase(monitorID: monitor.id, targetIndex: index, cadence: p.cadence)
            phase -= phase % tickNanos
            let slot = Int(freeSlots.popLast() ?? { slots.append(Slot()); return Int32(slots.count - 1) }())
            let cookie = ProbeCookie(slot: slot, generation: slots[slot].generation)
            slots[slot].plan = plan
            slots[slot].targetIndex = Int32(index)
            slots[slot].nextFire = PhaseSpreader.firstFire(atOrAfter: now, phase: phase, cadence: p.cadence)
            slots[slot].handle = wheel.insert(id: cookie.rawValue, deadline: ceilTick(slots[slot].nextFire))
            p.slots.append(Int32(slot))
        }
        plans[Int(plan)] = p
        planIndex[monitor.id] = plan
    }

    /// Removes a monitor's entries: cancels their timers and bumps their slots' generations so
    /// every cookie handed out for them goes stale.
    mutating func remove(monitorID: String, into report: inout ReloadReport) {
        guard let plan = planIndex.removeValue(forKey: monitorID) else { return }
        for s in plans[Int(plan)].slots {
            let slot = Int(s)
            let cookie = ProbeCookie(slot: slot, generation: slots[slot].generation)
            report.removedCookies.append(cookie)
            if slots[slot].inFlight { report.discardedInFlight.append(cookie) }
            if let handle = slots[slot].handle { wheel.cancel(handle) }
            slots[slot] = Slot(generation: slots[slot].generation &+ 1)
            freeSlots.append(s)
        }
        plans[Int(plan)] = .vacant
        freePlans.append(plan)
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

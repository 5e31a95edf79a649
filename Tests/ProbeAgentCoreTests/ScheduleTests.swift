import Testing
@testable import ProbeAgentCore

@Suite struct ScheduleTests {
    func mixedConfig() -> AgentConfig {
        var config = AgentConfig()
        config.monitors = [
            MonitorConfig(id: "ping", probeProtocol: .icmp, targets: ["127.0.0.1", "127.0.0.2", "::1"]),
            MonitorConfig(id: "web", probeProtocol: .tcpConnect, targets: ["127.0.0.1"], port: 80),
            MonitorConfig(id: "syn", probeProtocol: .tcpSyn, targets: ["127.0.0.3", "127.0.0.4"], port: 22),
        ]
        return config
    }

    /// Polls every tick from `from` to `to` (ns), completing every probe at once.
    func run(_ schedule: inout Schedule, from: UInt64, to: UInt64, step: UInt64 = 10 * msNanos,
             complete: Bool = true) -> [ProbeBatch] {
        var all: [ProbeBatch] = []
        var now = from
        while now <= to {
            let batches = schedule.poll(now: now)
            if complete { for probe in batches.flatMap(\.probes) { schedule.complete(probe.cookie) } }
            all += batches
            now += step
        }
        return all
    }

    @Test func everyEntryFiresOncePerCadenceOnItsGrid() {
        var schedule = Schedule(config: mixedConfig(), now: 0)
        let batches = run(&schedule, from: 0, to: 30 * secondNanos - 1)
        let probes = batches.flatMap(\.probes)
        #expect(probes.count == 6 * 10)
        for entry in schedule.entries {
            let fires = probes.filter { $0.monitorID == entry.monitorID && $0.target == entry.target }.map(\.scheduled)
            #expect(fires == (0..<10).map { entry.phase + UInt64($0) * entry.cadence })
        }
        for batch in batches { #expect(batch.probes.allSatisfy { schedule.entry(for: $0.cookie)?.probeProtocol == batch.probeProtocol }) }
        #expect(schedule.lateness.count == 60)
        #expect(schedule.lateness.max < 10 * msNanos)
    }

    @Test func entriesShareTheirMonitorsFieldsAndSlotsStaySmall() {
        // One slot per target: 32 bytes, names and settings once per monitor (MonitorPlan).
        #expect(MemoryLayout<Schedule.Slot>.stride == 32)
        let schedule = Schedule(config: mixedConfig(), now: 0)
        #expect(schedule.plans.count == 3 && schedule.slots.count == 6)
        let web = schedule.entries(monitorID: "web")
        #expect(web.count == 1 && web[0].target == "127.0.0.1" && web[0].port == 80 && web[0].targetIndex == 0)
        #expect(web[0].phase == web[0].nextFire % web[0].cadence)
        #expect(schedule.entries(monitorID: "syn").map(\.target) == ["127.0.0.3", "127.0.0.4"])
        var walked: [String] = []
        schedule.forEachEntry { cookie, e in
            #expect(schedule.entry(for: cookie) == e)
            walked.append("\(e.monitorID)/\(e.target)")
        }
        #expect(walked == schedule.entries.map { "\($0.monitorID)/\($0.target)" } && walked.count == 6)
    }

    @Test func dueEntriesAreGroupedOneBatchPerProtocol() {
        var schedule = Schedule(config: mixedConfig(), now: 0)
        let batches = schedule.poll(now: 3 * secondNanos)
        #expect(batches.map(\.probeProtocol) == [.icmp, .tcpSyn, .tcpConnect])
        #expect(batches.map(\.probes.count) == [3, 2, 1])
        #expect(batches[2].probes.first?.port == 80)
    }

    @Test func protocolOrderIsDeclarationOrder() {
        #expect(ProbeProtocol.allCases.map(\.order) == Array(0..<ProbeProtocol.allCases.count))
        #expect(ProbeProtocol.allCases.sorted() == ProbeProtocol.allCases)
    }

    @Test func aResultsOwnerIsItsEntrysMonitorTargetAndProtocol() {
        var schedule = Schedule(config: mixedConfig(), now: 0)
        let probes = schedule.poll(now: 3 * secondNanos).flatMap(\.probes)
        for p in probes {
            let owner = schedule.owner(of: p.cookie)
            let entry = schedule.entry(for: p.cookie)
            #expect(owner?.monitorID == entry?.monitorID && owner?.target == entry?.target)
            #expect(owner?.probeProtocol == entry?.probeProtocol && owner?.target == p.target)
        }
        // A cookie whose entry a reload removed has no owner.
        var fewer = mixedConfig()
        fewer.monitors.removeFirst()
        _ = schedule.apply(fewer, now: 3 * secondNanos)
        #expect(schedule.owner(of: probes[0].cookie) == nil)
    }

    @Test func lateTicksDoNotShiftTheSchedule() {
        var schedule = Schedule(config: loopbackConfig(monitors: 1, targets: 1), now: 0)
        let entry = schedule.entries[0]
        let late: UInt64 = 700 * msNanos
        let first = schedule.poll(now: entry.phase + late).flatMap(\.probes)
        #expect(first.map(\.scheduled) == [entry.phase])
        schedule.complete(first[0].cookie)
        #expect(schedule.entries[0].nextFire == entry.phase + entry.cadence)
        #expect(schedule.lateness.max == late)
        // More than a whole cadence late: the missed period is counted, not burst out.
        let second = schedule.poll(now: entry.phase + 2 * entry.cadence + 1).flatMap(\.probes)
        #expect(second.map(\.scheduled) == [entry.phase + entry.cadence])
        #expect(schedule.stats.missedPeriods == 1)
        #expect(schedule.entries[0].nextFire == entry.phase + 3 * entry.cadence)
    }

    @Test func entryStillInFlightIsSkippedAndCounted() {
        var schedule = Schedule(config: loopbackConfig(monitors: 1, targets: 2), now: 0)
        let fired = run(&schedule, from: 0, to: 9 * secondNanos - 1, complete: false).flatMap(\.probes)
        #expect(fired.count == 2)
        #expect(schedule.stats.skippedInFlight == 4)
        #expect(schedule.inFlightCount == 2)
        let first = schedule.complete(fired[0].cookie)
        let again = schedule.complete(fired[0].cookie)
        #expect(first && !again)
        let next = run(&schedule, from: 9 * secondNanos, to: 12 * secondNanos - 1, complete: false).flatMap(\.probes)
        #expect(next.map(\.target) == [fired[0].target])
    }

    @Test func rateCapDefersButNeverDrops() {
        var config = loopbackConfig(monitors: 1, targets: 1_000)
        config.scheduler.maxProbesPerSecond = 500
        var schedule = Schedule(config: config, now: 0)
        // 1,000 probes per 3 s at a cap of 500/s: every one goes out or is still waiting its
        // turn (a tick that has more due than 5 probes of credit defers the rest by a tick).
        let probes = run(&schedule, from: 0, to: 6_100 * msNanos).flatMap(\.probes)
        #expect(probes.filter { $0.scheduled < 6 * secondNanos }.count == 2_000)
        #expect(probes.allSatisfy { $0.scheduled > 6 * secondNanos || schedule.entry(for: $0.cookie) != nil })
        #expect(schedule.pendingCount <= 10)
        #expect(schedule.stats.skippedInFlight == 0)
        // Burst at one instant: 1,000 due together, 500/s → about 2 s to drain, nothing lost.
        var burst = AgentConfig()
        burst.scheduler.maxProbesPerSecond = 500
        burst.monitors = [MonitorConfig(id: "b", probeProtocol: .icmp, targets: ["127.0.0.1"])]
        var one = Schedule(config: burst, now: 0)
        var total = 0
        var maxPerTick = 0
        var now: UInt64 = 0
        for _ in 0..<300 {
            let n = one.poll(now: now).flatMap(\.probes).count
            total += n
            maxPerTick = max(maxPerTick, n)
            now += 10 * msNanos
        }
        #expect(total == 1 && maxPerTick <= 5)
    }

    @Test func rateCapSpreadsABurst() {
        var config = loopbackConfig(monitors: 1, targets: 1_000, cadence: .seconds(60))
        config.scheduler.maxProbesPerSecond = 1_000
        var schedule = Schedule(config: config, now: 0)
        // The first poll comes 59.99 s late: ~1,000 probes are due at one instant.
        var now: UInt64 = 59_990 * msNanos
        var perTick: [Int] = []
        var cookies: Set<ProbeCookie> = []
        while now < 62 * secondNanos {
            let probes = schedule.poll(now: now).flatMap(\.probes)
            perTick.append(probes.count)
            cookies.formUnion(probes.map(\.cookie))
            now += 10 * msNanos
        }
        let due = schedule.entries.filter { $0.phase <= 59_990 * msNanos }.count
        #expect(due > 900)
        #expect(schedule.stats.deferredByRateCap > 0)
        // 1,000/s at 10 ms ticks: 10 per tick, never more; every due probe goes out once.
        #expect(perTick.max() == 10)
        #expect(cookies.count == 1_000)
        #expect(schedule.stats.fired == 1_000)
        #expect(schedule.lateness.max >= 900 * msNanos)
    }

    @Test func nextDeadlineNeverOversleeps() {
        var schedule = Schedule(config: mixedConfig(), now: 0)
        var now: UInt64 = 0
        var fired = 0
        for _ in 0..<200 {
            guard let next = schedule.nextDeadline() else { break }
            #expect(next >= now)
            now = max(now, next)
            let probes = schedule.poll(now: now).flatMap(\.probes)
            for probe in probes {
                #expect(probe.scheduled <= now && now - probe.scheduled < 10 * msNanos)
                schedule.complete(probe.cookie)
            }
            fired += probes.count
        }
        #expect(fired > 0)
    }

    @Test func latenessHistogramQuantiles() {
        var histogram = DurationHistogram()
        for value in 1...100 as ClosedRange<UInt64> { histogram.record(value * msNanos) }
        #expect(histogram.count == 100 && histogram.max == 100 * msNanos)
        #expect(histogram.quantile(0.5) == 50 * msNanos)
        #expect(histogram.quantile(0.99) == 100 * msNanos)
        #expect(DurationHistogram().quantile(0.5) == 0)
    }
}

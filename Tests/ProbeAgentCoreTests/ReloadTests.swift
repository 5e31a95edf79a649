import Testing
@testable import ProbeAgentCore

@Suite struct ReloadTests {
    @Test func changingOneOfAThousandMonitorsKeepsTheOthers() {
        var config = loopbackConfig(monitors: 1_000, targets: 2)
        var schedule = Schedule(config: config, now: 0)
        // Run a while, leaving some probes in flight, then reload at an odd instant.
        var now: UInt64 = 0
        var inFlight: [DueProbe] = []
        while now < 4_500 * msNanos {
            inFlight += schedule.poll(now: now).flatMap(\.probes)
            if now % (1_000 * msNanos) != 0 {
                for probe in inFlight { schedule.complete(probe.cookie) }
                inFlight.removeAll()
            }
            now += 10 * msNanos
        }
        let before = Dictionary(uniqueKeysWithValues: schedule.entries.map { ("\($0.monitorID)/\($0.target)", $0) })
        #expect(before.count == 2_000)

        config.monitors[500].cadence = .seconds(10)   // m500 changes
        config.monitors.remove(at: 999)                // m999 goes
        let old = schedule
        let report = schedule.apply(config, now: now + 3 * msNanos)

        #expect(report.changed == ["m500"])
        #expect(report.removed == ["m999"])
        #expect(report.added.isEmpty)
        #expect(report.unchanged.count == 998)
        #expect(report.removedCookies.count == 4)
        // The other 998 keep phase and next fire.
        for entry in schedule.entries where entry.monitorID != "m500" {
            let previous = before["\(entry.monitorID)/\(entry.target)"]!
            #expect(entry == previous)
        }
        // The changed one follows its new cadence, on its new grid.
        let changed = schedule.entries(monitorID: "m500")
        #expect(changed.count == 2)
        for entry in changed {
            #expect(entry.cadence == 10 * secondNanos)
            #expect(entry.nextFire >= now + 3 * msNanos && entry.nextFire < now + 3 * msNanos + 10 * secondNanos)
            #expect(entry.nextFire % entry.cadence == entry.phase)
        }
        // The removed one is gone, and so are its results.
        #expect(schedule.entries(monitorID: "m999").isEmpty)
        #expect(schedule.entries.count == 1_998)
        for cookie in report.removedCookies {
            #expect(schedule.entry(for: cookie) == nil)
            let accepted = schedule.complete(cookie)
            #expect(!accepted)
        }
        // The copy taken before the reload still holds the old table (copy-on-write value).
        #expect(old.entries.count == 2_000)

        // Keep running: unchanged entries fire exactly on their old grid.
        var fired: [DueProbe] = []
        var t = now + 10 * msNanos
        while t < now + 12 * secondNanos {
            let probes = schedule.poll(now: t).flatMap(\.probes)
            for probe in probes { schedule.complete(probe.cookie) }
            fired += probes
            t += 10 * msNanos
        }
        for probe in fired {
            let entry = schedule.entry(for: probe.cookie)!
            #expect(probe.scheduled % entry.cadence == entry.phase)
        }
        #expect(fired.filter { $0.monitorID == "m500" }.count == 2)
        #expect(!fired.contains { $0.monitorID == "m999" })
    }

    @Test func inFlightProbesOfRemovedMonitorsAreReported() {
        let config = loopbackConfig(monitors: 2, targets: 1)
        var schedule = Schedule(config: config, now: 0)
        let probes = schedule.poll(now: 3 * secondNanos).flatMap(\.probes)
        #expect(probes.count == 2)
        var next = config
        next.monitors.removeFirst()
        next.monitors.append(MonitorConfig(id: "new", probeProtocol: .tcpConnect, targets: ["127.0.0.9"], port: 9))
        let report = schedule.apply(next, now: 3 * secondNanos)
        #expect(report.removed == ["m0"] && report.added == ["new"])
        let m0 = probes.first { $0.monitorID == "m0" }!
        #expect(report.discardedInFlight == [m0.cookie])
        let staleAccepted = schedule.complete(m0.cookie)
        #expect(!staleAccepted && schedule.stats.staleResults == 1)
        // The surviving monitor's in-flight probe is still tracked.
        let m1 = probes.first { $0.monitorID == "m1" }!
        let accepted = schedule.complete(m1.cookie)
        #expect(accepted)
    }

    @Test func reloadWithSameConfigChangesNothing() {
        let config = loopbackConfig(monitors: 10, targets: 3)
        var schedule = Schedule(config: config, now: 5)
        let before = schedule.entries
        let report = schedule.apply(config, now: 7 * secondNanos)
        #expect(report.unchanged.count == 10 && report.removedCookies.isEmpty)
        #expect(schedule.entries == before)
    }

    @Test func tickChangeKeepsFireTimes() {
        var config = loopbackConfig(monitors: 3, targets: 3)
        var schedule = Schedule(config: config, now: 0)
        let before = schedule.entries
        config.scheduler.tick = .milliseconds(1)
        schedule.apply(config, now: 100 * msNanos)
        #expect(schedule.entries == before)
        let probes = (0..<3_000).flatMap { schedule.poll(now: UInt64($0) * msNanos + 100 * msNanos).flatMap(\.probes) }
        #expect(probes.count == 9)
        #expect(probes.allSatisfy { $0.scheduled % (3 * secondNanos) == schedule.entry(for: $0.cookie)!.phase })
    }
}

@Suite struct DependencyTests {
    let monitors = [
        MonitorConfig(id: "router", probeProtocol: .icmp, targets: ["127.0.0.1", "127.0.0.2"]),
        MonitorConfig(id: "web", probeProtocol: .tcpConnect, targets: ["127.0.0.3"], port: 80, dependsOn: ["router"]),
        MonitorConfig(id: "solo", probeProtocol: .icmp, targets: ["127.0.0.4"]),
    ]

    @Test func childIsSuppressedOnlyWhileEveryParentTargetFails() {
        let resolver = DependencyResolver(monitors: monitors)
        let partlyDown = ["router": MonitorHealth(failingTargets: 1, totalTargets: 2)]
        let down = ["router": MonitorHealth(failingTargets: 2, totalTargets: 2)]
        #expect(!resolver.isSuppressed("web", health: partlyDown))
        #expect(resolver.isSuppressed("web", health: down))
        #expect(resolver.downParents(of: "web", health: down) == ["router"])
        #expect(!resolver.isSuppressed("solo", health: down))
        #expect(!resolver.isSuppressed("router", health: down))
        #expect(!resolver.isSuppressed("web", health: [:]))
        #expect(!MonitorHealth(failingTargets: 0, totalTargets: 0).isDown)
    }

    @Test func graphFindsCyclesInFileOrder() {
        let graph = DependencyGraph([("c", ["a"]), ("a", ["b"]), ("b", ["c"]), ("d", ["d"]), ("e", ["a"])])
        #expect(graph.cycles() == [["c", "a", "b", "c"], ["d", "d"]])
        #expect(DependencyGraph([("a", ["b"]), ("b", [])]).cycles().isEmpty)
    }
}

import ProbeAgentCore
import Testing

/// The resolver's decisions, with a manual clock (nanoseconds): what is looked up when, how a
/// hung lookup is reported, and how `all_addresses` monitors are expanded.
@Suite("Name resolution table")
struct NameResolutionTests {
    static let s: UInt64 = 1_000_000_000
    typealias Table = NameResolutionTable<String>

    @Test func newNamesAreDueAtOnceAndRefreshedEveryInterval() {
        var t = Table(interval: 60 * Self.s, timeout: 5 * Self.s)
        t.setNames(["a.test", "b.test"], now: 0)
        let r1 = t.startDue(now: 0)
        #expect(r1 == ["a.test", "b.test"])
        let r2 = t.startDue(now: 0)
        #expect(r2.isEmpty, "in flight: not started twice")
        let r3 = t.finished("a.test", .success(["198.18.1.1"]), now: Self.s / 10)
        #expect(r3)
        #expect(t.addresses["a.test"] == ["198.18.1.1"])
        let r4 = t.startDue(now: 59 * Self.s)
        #expect(r4.isEmpty)
        let r5 = t.startDue(now: 61 * Self.s)
        #expect(r5 == ["a.test"])
        let r6 = t.finished("a.test", .success(["198.18.1.1"]), now: 61 * Self.s)
        #expect(!r6, "same answer: no change")
    }

    @Test func aHungLookupFailsAfterTheTimeoutOnceAndKeepsTheLastGoodAddresses() {
        var t = Table(interval: 2 * Self.s, timeout: 5 * Self.s)
        t.setNames(["a.test"], now: 0)
        _ = t.startDue(now: 0)
        t.finished("a.test", .success(["198.18.1.1", "2001:db8:1::1"]), now: 0)
        let r7 = t.startDue(now: 2 * Self.s)
        #expect(r7 == ["a.test"]) // this one hangs
        let r8 = t.expire(now: 6 * Self.s)
        #expect(!r8)
        let r9 = t.expire(now: 7 * Self.s)
        #expect(r9)
        #expect(t.failures["a.test"]?.contains("no answer within 5000 ms") == true)
        #expect(t.addresses["a.test"] == ["198.18.1.1", "2001:db8:1::1"], "last good kept")
        let r10 = t.expire(now: 8 * Self.s)
        #expect(!r10, "reported once")
        let r11 = t.startDue(now: 100 * Self.s)
        #expect(r11.isEmpty, "no second lookup while the first hangs")
        let r12 = t.finished("a.test", .success(["198.18.1.2"]), now: 101 * Self.s)
        #expect(r12, "a late answer still counts")
        #expect(t.failures["a.test"] == nil)
        #expect(t.addresses["a.test"] == ["198.18.1.2"])
    }

    @Test func eightLookupsRunAtOnceAndHungOnesGiveUpTheirSlotUpToSixtyFourHeld() {
        var t = Table(interval: 60 * Self.s, timeout: 5 * Self.s)
        t.setNames((0..<100).map { "n\($0).test" }, now: 0)
        let first = t.startDue(now: 0)
        #expect(first.count == 8)
        let none = t.startDue(now: 4 * Self.s)
        #expect(none.isEmpty)
        t.finished("n0.test", .failure(LookupFailure("Name or service not known")), now: 4 * Self.s)
        let one = t.startDue(now: 4 * Self.s)
        #expect(one.count == 1)
        var held = 8
        var now = 4 * Self.s
        for _ in 0..<20 { // every lookup hangs: each round's 8 time out and 8 more start
            now += 6 * Self.s
            t.expire(now: now)
            held += t.startDue(now: now).count
        }
        #expect(held == 64, "hung lookups hold at most 64 threads")
        t.finished("n1.test", .success(["198.18.1.1"]), now: now)
        let next = t.startDue(now: now)
        #expect(next.count == 1, "a hung lookup that returns frees its thread")
    }

    @Test func failuresAreRetriedSoonerThenBackOffToTheInterval() {
        var t = Table(interval: 60 * Self.s, timeout: 5 * Self.s)
        t.setNames(["late.test"], now: 0)
        var now: UInt64 = 0
        var gaps: [UInt64] = []
        for _ in 0..<9 {
            _ = t.startDue(now: now)
            t.finished("late.test", .failure(LookupFailure("Name or service not known")), now: now)
            let next = t.nextWakeAt!
            gaps.append((next - now) / Self.s)
            now = next
        }
        #expect(gaps == [1, 2, 4, 8, 16, 32, 60, 60, 60])
        #expect(t.failures["late.test"] == "Name or service not known")
        _ = t.startDue(now: now)
        t.finished("late.test", .success(["198.18.1.9"]), now: now)
        #expect(t.failures.isEmpty)
        #expect(t.nextWakeAt == now + 60 * Self.s)
    }

    @Test func droppedNamesAreForgottenAndTheirLateAnswersIgnored() {
        var t = Table(interval: 60 * Self.s, timeout: 5 * Self.s)
        t.setNames(["a.test", "b.test"], now: 0)
        _ = t.startDue(now: 0)
        t.setNames(["b.test"], now: 1)
        let r16 = t.finished("a.test", .success(["198.18.1.1"]), now: 2)
        #expect(!r16)
        #expect(t.addresses["a.test"] == nil)
        #expect(t.entries.count == 1)
    }

    @Test func allAddressesMonitorsGetOneTargetPerAddressOfTheirFamily() {
        var c = AgentConfig()
        c.monitors = [
            MonitorConfig(id: "every", probeProtocol: .icmp, targets: ["198.18.1.1", "dual.test", "none.test"], allAddresses: true),
            MonitorConfig(id: "v6", probeProtocol: .icmp, targets: ["dual.test"], addressFamily: .ipv6, allAddresses: true),
            MonitorConfig(id: "first", probeProtocol: .icmp, targets: ["dual.test"]),
        ]
        let answers = ["dual.test": ["198.18.1.2", "2001:db8:1::2", "198.18.1.3"]]
        let e = c.expandingAddresses { answers[$0] }
        #expect(e.monitors[0].targets == ["198.18.1.1", "dual.test/198.18.1.2", "dual.test/2001:db8:1::2",
                                         "dual.test/198.18.1.3", "none.test"])
        #expect(e.monitors[1].targets == ["dual.test/2001:db8:1::2"])
        #expect(e.monitors[2].targets == ["dual.test"], "without all_addresses the name is probed as itself")
        #expect(ExpandedTarget.split("dual.test/2001:db8:1::2").map { "\($0.name)|\($0.address)" } == "dual.test|2001:db8:1::2")
        #expect(ExpandedTarget.split("198.18.1.1") == nil)
        #expect(c.expandingAddresses { _ in nil }.monitors[0].targets == c.monitors[0].targets)
    }

    @Test func addressFamilyAndAllAddressesAreReadAndValidated() throws {
        let ok = try AgentConfig.load(yaml: """
            monitors:
              - {id: m, protocol: icmp, targets: [dual.test], address_family: ipv6, all_addresses: true}
            """, file: "a.yaml")
        #expect(ok.monitors[0].addressFamily == .ipv6)
        #expect(ok.monitors[0].allAddresses)
        #expect(ok.scheduler.resolveTimeout == .seconds(5))
        let bad = #expect(throws: ConfigErrors.self) {
            try AgentConfig.load(yaml: """
                scheduler: {resolve_timeout: 5m}
                monitors:
                  - {id: m, protocol: icmp, targets: [dual.test], address_family: ip6, labels: {address: x}}
                """, file: "a.yaml")
        }
        let text = bad?.errors.map(\.description).joined(separator: "\n") ?? ""
        #expect(text.contains("a.yaml:1:30: error: scheduler.resolve_timeout 5m must be between 100ms and 60s"), "\(text)")
        #expect(text.contains("unknown address_family 'ip6' in monitor 'm'; expected one of any, ipv4, ipv6"), "\(text)")
        #expect(text.contains("a.yaml:3:81: error: label 'address' in labels of monitor 'm' collides with the built-in label"), "\(text)")
    }
}

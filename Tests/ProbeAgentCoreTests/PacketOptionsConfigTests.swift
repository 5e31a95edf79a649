import Glibc
import Testing
@testable import ProbeAgentCore

/// Packet options per monitor: what the loader accepts, what it refuses (with file:line:col),
/// and how they reach the probes and the monitor's hash.
@Suite("Config: packet options per monitor (ttl, tos/dscp, size, dont_fragment)")
struct PacketOptionsConfigTests {
    static func monitor(_ extra: String, protocol p: String = "icmp", port: String = "") -> String {
        "monitors:\n  - id: a\n    protocol: \(p)\n\(port)    targets: [198.18.1.1]\n" + extra
    }

    @Test func optionsAreReadAndDSCPIsTheUpperSixBitsOfTOS() throws {
        let c = try AgentConfig.load(yaml: Self.monitor("    ttl: 7\n    dscp: 46\n    size: 1400\n    dont_fragment: true\n"), file: "agent.yaml")
        #expect(c.monitors[0].packet == PacketOptions(ttl: 7, tos: 184, size: 1400, dontFragment: true))
        let t = try AgentConfig.load(yaml: Self.monitor("    tos: 32\n"), file: "agent.yaml")
        #expect(t.monitors[0].packet == PacketOptions(tos: 32))
        let none = try AgentConfig.load(yaml: Self.monitor(""), file: "agent.yaml")
        #expect(none.monitors[0].packet.isDefault)
    }

    @Test func badValuesAreErrorsAtTheirPosition() {
        let cases: [(String, String, String, String)] = [
            ("    ttl: 0\n", "icmp", "", "5:10: error: ttl of monitor 'a' 0 is out of range 1..255"),
            ("    ttl: 300\n", "icmp", "", "5:10: error: ttl of monitor 'a' 300 is out of range 1..255"),
            ("    dscp: 64\n", "icmp", "", "5:11: error: dscp of monitor 'a' 64 is out of range 0..63"),
            ("    tos: 4\n    dscp: 1\n", "icmp", "", "5:10: error: give tos or dscp in monitor 'a', not both (dscp is the upper six bits of tos)"),
            ("    size: 8\n", "icmp", "", "5:11: error: size of monitor 'a' (ICMP payload bytes) 8 is out of range 24..1600"),
            ("    dont_fragment: yes\n", "icmp", "", "5:20: error: expected true or false for dont_fragment of monitor 'a', found a boolean"), // YAML 1.1's yes: refused as such
            ("    size: 100\n", "tcp-syn", "    port: 80\n", "6:11: error: size applies to protocol icmp only, not tcp-syn, in monitor 'a'"),
            ("    ttl: 3\n", "tcp-connect", "    port: 80\n", "6:10: error: ttl does not apply to protocol tcp-connect in monitor 'a' (the kernel makes its packets); use icmp or tcp-syn"),
        ]
        for (extra, p, port, expected) in cases {
            let errors = configErrors(Self.monitor(extra, protocol: p, port: port))
            #expect(errors.map(\.description) == ["agent.yaml:" + expected], "\(extra)")
        }
    }

    @Test func sourceMustMatchTheTargetsFamily() throws {
        let ok = try AgentConfig.load(yaml: Self.monitor("    source: 198.18.20.5\n"), file: "agent.yaml")
        #expect(ok.monitors[0].packet.source == IPAddress("198.18.20.5"))
        #expect(ok.monitors[0].configHash != (try AgentConfig.load(yaml: Self.monitor(""), file: "agent.yaml")).monitors[0].configHash)
        let mixed = configErrors(Self.monitor("    source: 2001:db8::5\n"))
        #expect(mixed.map(\.description) == ["agent.yaml:5:13: error: source 2001:db8::5 of monitor 'a' is IPv6, target 198.18.1.1 is not"])
        let bad = configErrors(Self.monitor("    source: somewhere\n"))
        #expect(bad.map(\.description) == ["agent.yaml:5:13: error: source 'somewhere' of monitor 'a' is not an IP address"])
        let names = configErrors("monitors:\n  - id: a\n    protocol: icmp\n    targets: [host.test]\n    source: 198.18.20.5\n")
        #expect(names.map(\.description) == ["agent.yaml:5:13: error: source 198.18.20.5 of monitor 'a' is IPv4: its hostname targets need address_family: ipv4"])
        let named = try AgentConfig.load(yaml: "monitors:\n  - id: a\n    protocol: icmp\n    targets: [host.test]\n    address_family: ipv4\n    source: 198.18.20.5\n", file: "agent.yaml")
        #expect(named.monitors[0].packet.source != nil)
    }

    @Test func interfaceIsLookedUpAtLoad() throws {
        let lo = try AgentConfig.load(yaml: Self.monitor("    interface: lo\n"), file: "agent.yaml")
        #expect(lo.monitors[0].packet.interfaceIndex == if_nametoindex("lo") && lo.monitors[0].packet.interfaceIndex != 0)
        #expect(lo.monitors[0].configHash != (try AgentConfig.load(yaml: Self.monitor(""), file: "agent.yaml")).monitors[0].configHash)
        let syn = try AgentConfig.load(yaml: Self.monitor("    interface: lo\n", protocol: "tcp-syn", port: "    port: 80\n"), file: "agent.yaml")
        #expect(syn.monitors[0].packet.interfaceIndex != 0)
        #expect(configErrors(Self.monitor("    interface: nosuchif0\n")).map(\.description)
            == ["agent.yaml:5:16: error: interface 'nosuchif0' of monitor 'a' does not exist on this host (see `ip link`)"])
        #expect(configErrors(Self.monitor("    interface: lo\n", protocol: "tcp-connect", port: "    port: 80\n")).map(\.description)
            == ["agent.yaml:6:16: error: interface does not apply to protocol tcp-connect in monitor 'a' (the kernel makes its packets); use icmp or tcp-syn"])
    }

    @Test func optionsChangeTheHashAndReachTheProbes() throws {
        let plain = try AgentConfig.load(yaml: Self.monitor(""), file: "agent.yaml")
        let shaped = try AgentConfig.load(yaml: Self.monitor("    ttl: 9\n"), file: "agent.yaml")
        #expect(plain.monitors[0].configHash != shaped.monitors[0].configHash)
        var loop = ProbeLoop(config: shaped, now: 0, shipping: false, statusInterval: 1_000_000_000)
        loop.poll(now: 10_000_000_000, wallMilliseconds: 0)
        #expect(loop.pendingProbes.first?.options == PacketOptions(ttl: 9))
        var plainLoop = ProbeLoop(config: plain, now: 0, shipping: false, statusInterval: 1_000_000_000)
        plainLoop.poll(now: 10_000_000_000, wallMilliseconds: 0)
        #expect(plainLoop.pendingProbes.first?.options == PacketOptions.none)
    }
}

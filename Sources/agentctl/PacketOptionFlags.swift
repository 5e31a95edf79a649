import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import ProbeAgentCore

/// fping's letters for the shape of a probe, shared by `agentctl probe` and `agentctl trace`.
struct PacketOptionFlags: ParsableArguments {
    @Option(name: .customShort("b"), help: "ICMP payload bytes (24-1600; default 24). fping's -b.")
    var size: UInt16?

    @Flag(name: .customShort("M"), help: "Set don't-fragment (ICMP, needs CAP_NET_RAW): a probe too big for a link ends as fragmentation_needed with its MTU.")
    var dontFragment = false

    @Option(name: .customShort("O"), help: "TOS byte (IPv4) / traffic class (IPv6), 0-255: DSCP × 4 + ECN (EF = 184).")
    var tos: UInt8?

    @Option(name: .customShort("H"), help: "TTL (IPv4) / hop limit (IPv6), 1-255.")
    var ttl: UInt8?

    @Option(name: .customShort("S"), help: "Source address (one of this host's, of the targets' family).")
    var source: String?

    @Option(name: .customShort("I"), help: "Leave by this interface (IP_PKTINFO / IPV6_PKTINFO), e.g. eth0.")
    var interface: String?

    func validate() throws {
        if let size, !(PacketOptions.minimumSize...PacketOptions.maximumSize).contains(size) {
            throw ValidationError("-b \(size) is out of range (\(PacketOptions.minimumSize)-\(PacketOptions.maximumSize) bytes)")
        }
        if ttl == 0 { throw ValidationError("-H must be 1-255") }
        if let source, IPAddress(source) == nil { throw ValidationError("-S '\(source)' is not an IP address") }
        if let interface, if_nametoindex(interface) == 0 { throw ValidationError("-I '\(interface)': no such interface") }
    }

    /// Checks the options against the probe kind: size and don't-fragment are ICMP's only, and
    /// a connect's packets are the kernel's own.
    func check(kind: ProbeKind) throws {
        if kind != .icmp && (size != nil || dontFragment) { throw ValidationError("-b and -M apply to ICMP probes only") }
        if kind == .tcpConnect && (tos != nil || ttl != nil || source != nil || interface != nil) {
            throw ValidationError("-O, -H, -S and -I do not apply to --connect")
        }
    }

    /// A source address of another family than a target's cannot send to it.
    func check(targets: [IPAddress]) throws {
        if let s = source.flatMap(IPAddress.init), let t = targets.first(where: { $0.family != s.family }) {
            throw ValidationError("-S \(s) is IPv\(s.family), target \(t) is IPv\(t.family)")
        }
    }

    var options: PacketOptions {
        PacketOptions(ttl: ttl ?? 0, tos: tos ?? 0, size: size ?? 0, dontFragment: dontFragment,
                      source: source.flatMap(IPAddress.init), interfaceIndex: interface.map { if_nametoindex($0) } ?? 0)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Yams

extension MonitorConfig {
    static let packetKeys = ["ttl", "tos", "dscp", "size", "dont_fragment", "source", "interface", "packets", "spacing"]

    /// `source`: one of the host's addresses to send from. Every target must be of its family:
    /// literals as written, names through `address_family`.
    static func readSource(_ fields: Fields, targets: [String], family: AddressFamily, _ what: String,
                           _ reader: inout NodeReader) -> IPAddress? {
        guard let n = fields["source"], let text = reader.string(n, "source of \(what)") else { return nil }
        guard let source = IPAddress(text) else {
            reader.error(at: n, "source '\(text)' of \(what) is not an IP address")
            return nil
        }
        let wanted: AddressFamily = source.family == 4 ? .ipv4 : .ipv6
        if let other = targets.first(where: { IPAddress($0).map { $0.family != source.family } ?? false }) {
            reader.error(at: n, "source \(text) of \(what) is IPv\(source.family), target \(other) is not")
        } else if targets.contains(where: { IPAddress($0) == nil }) && family != wanted {
            reader.error(at: n, "source \(text) of \(what) is IPv\(source.family): its hostname targets need address_family: \(wanted.rawValue)")
        }
        return source
    }

    /// `packets` (1-100) probes per target per cycle, `spacing` apart (default 10ms); the
    /// burst and the last probe's timeout must end within the cadence.
    static func readBurst(_ fields: Fields, cadence: Duration, timeout: Duration, _ what: String,
                          _ reader: inout NodeReader) -> (packets: Int, spacing: Duration) {
        var packets = 1, spacing = defaultSpacing
        if let n = fields["packets"], let v = reader.int(n, "packets of \(what)", in: packetsRange) { packets = v }
        if let n = fields["spacing"], let v = reader.duration(n, "spacing of \(what)") {
            if v < .milliseconds(1) || v > .seconds(60) {
                reader.error(at: n, "spacing \(DurationParser.format(v)) in \(what) must be between 1ms and 1m")
            } else {
                spacing = v
            }
        }
        let span = spacing * (packets - 1) + timeout
        if packets > 1 && span >= cadence {
            reader.error(at: fields["spacing"] ?? fields["packets"]!,
                         "\(packets) packets \(DurationParser.format(spacing)) apart plus timeout \(DurationParser.format(timeout)) take \(DurationParser.format(span)), not less than cadence \(DurationParser.format(cadence)) in \(what)")
        }
        return (packets, spacing)
    }

    /// The packet options of a monitor: `ttl` (1-255), `tos` (0-255) or `dscp` (0-63, the TOS
    /// byte's upper six bits), `interface` (a name this host has, looked up at load: its index
    /// rides on each packet), and for ICMP `size` (payload bytes) and `dont_fragment`.
    /// A tcp-connect monitor's packets are the kernel's own: it takes none of them.
    static func readPacketOptions(_ fields: Fields, _ proto: ProbeProtocol?, _ what: String,
                                  _ reader: inout NodeReader) -> PacketOptions {
        var o = PacketOptions()
        for key in packetKeys where key != "packets" && key != "spacing" && key != "source" {
            guard let n = fields[key] else { continue }
            if proto == .tcpConnect {
                reader.error(at: n, "\(key) does not apply to protocol tcp-connect in \(what) (the kernel makes its packets); use icmp or tcp-syn")
            } else if proto == .tcpSyn && (key == "size" || key == "dont_fragment") {
                reader.error(at: n, "\(key) applies to protocol icmp only, not tcp-syn, in \(what)")
            }
        }
        if let n = fields["ttl"], let v = reader.int(n, "ttl of \(what)", in: 1...255) { o.ttl = UInt8(v) }
        switch (fields["tos"], fields["dscp"]) {
        case (let t?, _?):
            reader.error(at: t, "give tos or dscp in \(what), not both (dscp is the upper six bits of tos)")
        case (let t?, nil):
            if let v = reader.int(t, "tos of \(what)", in: 0...255) { o.tos = UInt8(v) }
        case (nil, let d?):
            if let v = reader.int(d, "dscp of \(what)", in: 0...63) { o.tos = UInt8(v << 2) }
        case (nil, nil):
            break
        }
        let range = Int(PacketOptions.minimumSize)...Int(PacketOptions.maximumSize)
        if let n = fields["size"], let v = reader.int(n, "size of \(what) (ICMP payload bytes)", in: range) { o.size = UInt16(v) }
        if let n = fields["dont_fragment"], let v = reader.bool(n, "dont_fragment of \(what)") { o.dontFragment = v }
        if let n = fields["interface"], let name = reader.string(n, "interface of \(what)") {
            let index = name.isEmpty || name.utf8.count > 15 || name.contains("/") ? 0 : if_nametoindex(name)
            if index == 0 {
                reader.error(at: n, "interface '\(name)' of \(what) does not exist on this host (see `ip link`)")
            } else {
                o.interfaceIndex = index
            }
        }
        return o
    }
}

import CProbe
import ProbeAgentCore

// The probe values (ProbeAgentCore/Probe) as CProbe's C structs, and their C names.

extension ProbeKind: CustomStringConvertible {
    public var description: String { String(cString: cprobe_kind_name(rawValue)) }
}

extension ProbeStatus: CustomStringConvertible {
    public var description: String { String(cString: cprobe_status_name(rawValue)) }
}

extension ProbeRequest {
    var cValue: cprobe_request {
        var r = cprobe_request()
        r.cookie = cookie
        r.family = address.family
        r.kind = kind.rawValue
        r.port = port
        r.timeout_ms = timeoutMilliseconds
        r.due_ns = dueNanoseconds
        if !options.isDefault { r.setOptions(options) }
        // Straight from the two words: no array per probe on the submit path.
        withUnsafeMutableBytes(of: &r.addr) { dst in
            dst.storeBytes(of: address.bytes.0.bigEndian, toByteOffset: 0, as: UInt64.self)
            dst.storeBytes(of: address.bytes.1.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return r
    }
}

extension cprobe_request {
    mutating func setOptions(_ o: PacketOptions) {
        ttl = o.ttl
        tos = o.tos
        size = o.size
        flags = (o.dontFragment ? UInt8(CPROBE_REQ_DONT_FRAGMENT) : 0) | (o.flow != nil ? UInt8(CPROBE_REQ_FLOW) : 0)
            | (o.source != nil ? UInt8(CPROBE_REQ_SOURCE) : 0)
        flow = o.flow ?? 0
        ifindex = o.interfaceIndex
        if let source = o.source {
            withUnsafeMutableBytes(of: &src) { dst in
                dst.storeBytes(of: source.bytes.0.bigEndian, toByteOffset: 0, as: UInt64.self)
                dst.storeBytes(of: source.bytes.1.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
        }
    }
}

extension ProbeResult {
    init(_ r: cprobe_result) {
        let clock: ClockSource = switch Int(r.clock) {
        case CPROBE_CLOCK_TX_KERNEL | CPROBE_CLOCK_RX_KERNEL: .kernel
        case 0: .user
        default: .mixed
        }
        var reporter: IPAddress?
        if r.reporter_family == 4 || r.reporter_family == 6 {
            let bytes = withUnsafeBytes(of: r.reporter) { Array($0.prefix(r.reporter_family == 4 ? 4 : 16)) }
            reporter = IPAddress(family: r.reporter_family, bytes: bytes)
        }
        self.init(cookie: r.cookie, status: ProbeStatus(rawValue: r.status) ?? .error, kind: ProbeKind(rawValue: r.kind) ?? .icmp,
                  rttNanoseconds: r.rtt_ns, sentAtNanoseconds: r.sent_ns,
                  sendDelayNanoseconds: r.send_delay_ns == UInt64.max ? nil : r.send_delay_ns, clock: clock,
                  errno: r.error, icmpType: r.icmp_type, icmpCode: r.icmp_code, reporter: reporter, sequence: r.seq,
                  mtu: r.mtu)
    }
}

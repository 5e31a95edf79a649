import CProbe

/// What kind of probe to send.
public enum ProbeKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case icmp = 1
    case tcpSyn = 2
    case tcpConnect = 3

    public var description: String { String(cString: cprobe_kind_name(rawValue)) }
}

/// How a probe ended; exactly one per submitted probe.
public enum ProbeStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0, timeout, refused, unreachable, error

    public var description: String { String(cString: cprobe_status_name(rawValue)) }
}

/// Where an RTT's two ends were measured.
public enum ClockSource: String, Sendable, Codable {
    /// Both send and receive times are kernel timestamps (SO_TIMESTAMPING).
    case kernel
    /// One end is a kernel timestamp, the other the user-space clock.
    case mixed
    /// Both ends from the user-space clock (no kernel stamps, or TCP connect).
    case user
}

public struct ProbeRequest: Sendable {
    public var cookie: UInt64
    public var address: IPAddress
    public var kind: ProbeKind
    public var port: UInt16
    public var timeoutMilliseconds: UInt32
    /// When the probe was due, CLOCK_MONOTONIC nanoseconds; 0 for none. With it, the result
    /// says how long after that the packet left (``ProbeResult/sendDelayNanoseconds``).
    public var dueNanoseconds: UInt64

    public init(cookie: UInt64, address: IPAddress, kind: ProbeKind = .icmp, port: UInt16 = 0,
                timeoutMilliseconds: UInt32 = 1000, dueNanoseconds: UInt64 = 0) {
        self.cookie = cookie
        self.address = address
        self.kind = kind
        self.port = port
        self.timeoutMilliseconds = timeoutMilliseconds
        self.dueNanoseconds = dueNanoseconds
    }

    var cValue: cprobe_request {
        var r = cprobe_request()
        r.cookie = cookie
        r.family = address.family
        r.kind = kind.rawValue
        r.port = port
        r.timeout_ms = timeoutMilliseconds
        r.due_ns = dueNanoseconds
        // Straight from the two words: no array per probe on the submit path.
        withUnsafeMutableBytes(of: &r.addr) { dst in
            dst.storeBytes(of: address.bytes.0.bigEndian, toByteOffset: 0, as: UInt64.self)
            dst.storeBytes(of: address.bytes.1.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return r
    }
}

public struct ProbeResult: Sendable {
    public var cookie: UInt64
    public var status: ProbeStatus
    public var kind: ProbeKind
    /// Round-trip time in nanoseconds; meaningful for ok, refused and unreachable.
    public var rttNanoseconds: UInt64
    /// Send time, nanoseconds since the Unix epoch (kernel stamp when there was one).
    public var sentAtNanoseconds: UInt64
    /// How long after the request's due time the packet left (the kernel's TX stamp where there
    /// is one, else the engine's clock just before the send); nil without a due time, or when
    /// the probe was never sent (`.error`).
    public var sendDelayNanoseconds: UInt64?
    public var clock: ClockSource
    /// errno for `.error` (and for a local unreachable); 0 otherwise.
    public var errno: Int32
    public var icmpType: UInt8
    public var icmpCode: UInt8
    /// The router that sent the ICMP error, for `.unreachable` from the network.
    public var reporter: IPAddress?
    public var sequence: UInt16

    init(_ r: cprobe_result) {
        cookie = r.cookie
        status = ProbeStatus(rawValue: r.status) ?? .error
        kind = ProbeKind(rawValue: r.kind) ?? .icmp
        rttNanoseconds = r.rtt_ns
        sentAtNanoseconds = r.sent_ns
        sendDelayNanoseconds = r.send_delay_ns == UInt64.max ? nil : r.send_delay_ns
        switch Int(r.clock) {
        case CPROBE_CLOCK_TX_KERNEL | CPROBE_CLOCK_RX_KERNEL: clock = .kernel
        case 0: clock = .user
        default: clock = .mixed
        }
        errno = r.error
        icmpType = r.icmp_type
        icmpCode = r.icmp_code
        sequence = r.seq
        if r.reporter_family == 4 || r.reporter_family == 6 {
            let bytes = withUnsafeBytes(of: r.reporter) { Array($0.prefix(r.reporter_family == 4 ? 4 : 16)) }
            reporter = IPAddress(family: r.reporter_family, bytes: bytes)
        } else {
            reporter = nil
        }
    }
}

/// What the probing loop hands the engine and gets back: one request per probe, one result
/// per request. Plain values; the engine (ProbeEngine) turns them into CProbe's C structs.

/// What kind of probe to send (CProbe's `CPROBE_KIND_*`).
public enum ProbeKind: UInt8, Sendable, CaseIterable {
    case icmp = 1
    case tcpSyn = 2
    case tcpConnect = 3

    public init(_ p: ProbeProtocol) {
        switch p {
        case .icmp: self = .icmp
        case .tcpSyn: self = .tcpSyn
        case .tcpConnect: self = .tcpConnect
        }
    }
}

/// How a probe ended; exactly one per submitted probe (CProbe's `CPROBE_STATUS_*`).
public enum ProbeStatus: UInt8, Sendable, CaseIterable {
    case ok = 0, timeout, refused, unreachable, error

    /// What the ledger and the store count it as, from the status alone (``ProbeResult/outcome``
    /// tells the ICMP errors apart).
    public var outcome: ProbeOutcome {
        switch self {
        case .ok: .ok
        case .timeout: .timeout
        case .refused: .refused
        case .unreachable: .unreachable
        case .error: .error
        }
    }
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
    /// How the packet is shaped (TTL, TOS, size, DF, flow); ``PacketOptions/none`` by default.
    public var options: PacketOptions

    public init(cookie: UInt64, address: IPAddress, kind: ProbeKind = .icmp, port: UInt16 = 0,
                timeoutMilliseconds: UInt32 = 1000, dueNanoseconds: UInt64 = 0, options: PacketOptions = .none) {
        self.cookie = cookie
        self.address = address
        self.kind = kind
        self.port = port
        self.timeoutMilliseconds = timeoutMilliseconds
        self.dueNanoseconds = dueNanoseconds
        self.options = options
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
    /// The next-hop MTU a "fragmentation needed" / "packet too big" reported; 0 otherwise.
    public var mtu: UInt32

    public init(cookie: UInt64, status: ProbeStatus, kind: ProbeKind = .icmp, rttNanoseconds: UInt64 = 0,
                sentAtNanoseconds: UInt64 = 0, sendDelayNanoseconds: UInt64? = nil, clock: ClockSource = .user,
                errno: Int32 = 0, icmpType: UInt8 = 0, icmpCode: UInt8 = 0, reporter: IPAddress? = nil, sequence: UInt16 = 0,
                mtu: UInt32 = 0) {
        self.cookie = cookie
        self.status = status
        self.kind = kind
        self.rttNanoseconds = rttNanoseconds
        self.sentAtNanoseconds = sentAtNanoseconds
        self.sendDelayNanoseconds = sendDelayNanoseconds
        self.clock = clock
        self.errno = errno
        self.icmpType = icmpType
        self.icmpCode = icmpCode
        self.reporter = reporter
        self.sequence = sequence
        self.mtu = mtu
    }
}

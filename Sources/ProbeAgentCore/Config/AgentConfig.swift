/// The whole agent configuration, as loaded from `agent.yaml` with every default applied.
///
/// Build one with ``AgentConfig/load(yaml:file:)``; every value in it has been validated.
/// The pipeline sections (`queue`, `spill`, `remoteWrite`, `http`, `admin`) are parsed and
/// type-checked here and used by the components that own them.
public struct AgentConfig: Sendable, Hashable {
    /// Values that monitors inherit when they do not set their own.
    public var defaults: MonitorDefaults = .init()
    /// The monitors, in file order. Ids are unique and `dependsOn` forms no cycle.
    public var monitors: [MonitorConfig] = []
    /// Timer-wheel and resolver settings.
    public var scheduler: SchedulerConfig = .init()
    /// The bounded in-memory result queue.
    public var queue: QueueConfig = .init()
    /// The on-disk spill log used while the central store is unreachable.
    public var spill: SpillConfig = .init()
    /// The stores results are shipped to, in file order, names unique; empty when the section
    /// is absent (results stay local).
    public var remoteWrite: [RemoteWriteConfig] = []
    /// The HTTP listener for `/metrics`, `/health` and `/-/ready`.
    public var http: HTTPConfig = .init()
    /// The admin API's unix socket.
    public var admin: AdminConfig = .init()
    /// What `/metrics` exposes.
    public var metrics: MetricsConfig = .init()
    /// Minimum log level.
    public var logLevel: LogLevel = .info
    /// Who the agent runs as once started (read at start only).
    public var process: ProcessConfig = .init()

    /// An empty configuration with every default.
    public init() {}

    /// Targets over all monitors (one schedule entry each).
    public var targetCount: Int { monitors.reduce(0) { $0 + $1.targets.count } }

    /// The memory queue's capacity for this config (`queue.mem_items_cap`, or `auto`).
    public var memoryQueueCapacity: Int { queue.capacity(targets: targetCount) }

    /// The monitor with the given id, if any.
    public func monitor(id: String) -> MonitorConfig? { monitors.first { $0.id == id } }
}

/// Agent-level defaults for monitors.
public struct MonitorDefaults: Sendable, Hashable {
    /// Default probe cadence: 3 s.
    public static let defaultCadence: Duration = .seconds(3)

    /// Cadence for monitors that set none.
    public var cadence: Duration = MonitorDefaults.defaultCadence
    /// Timeout for monitors that set none; `nil` means ``MonitorDefaults/defaultTimeout(cadence:)``.
    public var timeout: Duration?
    /// Labels every monitor carries; a monitor's own labels win on a clash.
    public var labels: [String: String] = [:]

    /// Creates defaults.
    public init(cadence: Duration = MonitorDefaults.defaultCadence, timeout: Duration? = nil,
                labels: [String: String] = [:]) {
        self.cadence = cadence
        self.timeout = timeout
        self.labels = labels
    }

    /// The timeout used when neither the monitor nor `defaults` set one: `min(1s, cadence / 2)`.
    ///
    /// One second covers any sane loopback, LAN or WAN round trip; half the cadence keeps the
    /// timeout strictly below the cadence for fast monitors so a probe always ends before its
    /// successor is due.
    public static func defaultTimeout(cadence: Duration) -> Duration {
        min(.seconds(1), cadence / 2)
    }
}

/// The kind of probe a monitor sends.
public enum ProbeProtocol: String, Sendable, Hashable, CaseIterable, Comparable {
    /// ICMP / ICMPv6 echo.
    case icmp
    /// Half-open TCP SYN (needs CAP_NET_RAW).
    case tcpSyn = "tcp-syn"
    /// Full TCP connect, closed with RST.
    case tcpConnect = "tcp-connect"

    /// Whether monitors of this kind need a `port`.
    public var needsPort: Bool { self != .icmp }

    /// Position in declaration order (0, 1, 2): batches come out in this order.
    public var order: Int {
        switch self {
        case .icmp: 0
        case .tcpSyn: 1
        case .tcpConnect: 2
        }
    }

    /// Orders by declaration, so batches come out in a stable order.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }
}

/// One monitor with defaults applied: what is probed, how, and how often.
public struct MonitorConfig: Sendable, Hashable {
    /// Unique id; becomes the `monitor` label.
    public var id: String
    /// Probe kind; becomes the `protocol` label.
    public var probeProtocol: ProbeProtocol
    /// IPv4 / IPv6 literals or hostnames, in file order, without duplicates.
    public var targets: [String]
    /// TCP destination port; `nil` for ICMP.
    public var port: UInt16?
    /// Time between two probes of one target.
    public var cadence: Duration
    /// Per-probe deadline; always less than `cadence`.
    public var timeout: Duration
    /// Extra labels (defaults merged in); never `monitor`, `target` or `protocol`.
    public var labels: [String: String]
    /// Labels of single targets, by target as listed (from `{address, labels}` entries and
    /// discovery groups); on a clash a target's own label wins over the monitor's. Only
    /// targets that have labels are here.
    public var targetLabels: [String: [String: String]]
    /// Ids of monitors this one depends on.
    public var dependsOn: [String]
    /// Which addresses of a hostname target are probed (`address_family`). Literals are
    /// probed as written.
    public var addressFamily: AddressFamily
    /// Probe every address a hostname resolves to (of ``addressFamily``), each its own series
    /// with an `address` label (`all_addresses`); otherwise only the first.
    public var allAddresses: Bool
    /// How its probes are shaped: `ttl`, `tos`/`dscp`, `size`, `dont_fragment`, `source`, `interface`.
    public var packet: PacketOptions
    /// Probes per target per cycle (`packets`), `spacing` apart: a burst, so loss has a
    /// resolution finer than one probe per cadence. 1: one probe, no burst.
    public var packets: Int = 1
    public var spacing: Duration = MonitorConfig.defaultSpacing

    /// Trace every target's path (`path:`); nil: no path monitoring. Not part of
    /// ``configHash``: turning it on, off or changing it on reload leaves the echo probes'
    /// schedule, phases and counters as they are.
    public var path: PathConfig?

    public static let defaultSpacing = Duration.milliseconds(10)
    public static let packetsRange = 1...100
    /// `file_sd_configs`, `http_sd_configs` and `shard`.
    public var discovery: DiscoveryConfig
    /// With a `shard`: how many targets the whole list has (`targets` holds this agent's
    /// share of them); nil without one.
    public var listedTargetCount: Int?

    /// Creates a monitor; the loader validates, this initialiser does not.
    public init(id: String, probeProtocol: ProbeProtocol, targets: [String], port: UInt16? = nil,
                cadence: Duration = MonitorDefaults.defaultCadence, timeout: Duration? = nil,
                labels: [String: String] = [:], dependsOn: [String] = [],
                addressFamily: AddressFamily = .any, allAddresses: Bool = false, packet: PacketOptions = .none,
                targetLabels: [String: [String: String]] = [:], discovery: DiscoveryConfig = .init()) {
        self.id = id
        self.probeProtocol = probeProtocol
        self.targets = targets
        self.port = port
        self.cadence = cadence
        self.timeout = timeout ?? MonitorDefaults.defaultTimeout(cadence: cadence)
        self.labels = labels
        self.targetLabels = targetLabels
        self.discovery = discovery
        self.dependsOn = dependsOn
        self.addressFamily = addressFamily
        self.allAddresses = allAddresses
        self.packet = packet
    }
}

/// The address family a monitor probes a hostname on: `any` (the resolver's order),
/// `ipv4` (A records only) or `ipv6` (AAAA only).
public enum AddressFamily: String, Sendable, Hashable, CaseIterable {
    case any, ipv4, ipv6
}

/// Minimum log level, as swift-log names them.
public enum LogLevel: String, Sendable, Hashable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

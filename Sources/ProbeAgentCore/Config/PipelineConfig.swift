/// Timer-wheel and resolver settings (`scheduler:`).
public struct SchedulerConfig: Sendable, Hashable {
    /// Wheel tick resolution; every fire time is rounded to it. Default 10 ms.
    public var tick: Duration = .milliseconds(10)
    /// Global probe send-rate cap; excess probes are deferred to later ticks, never dropped.
    public var maxProbesPerSecond: Int?
    /// Trace probes of path monitors per second, all monitors together (`path_probes_per_second`):
    /// traces wait for this budget, and for the echo probes due, so they never delay those.
    public var pathProbesPerSecond = 1000
    /// How often hostnames are re-resolved. Default 60 s.
    public var resolveInterval: Duration = .seconds(60)
    /// How long a lookup may go unanswered before it counts as failed (it goes on in the
    /// background; the last good addresses stay). Default 5 s.
    public var resolveTimeout: Duration = .seconds(5)
    /// The probing loop's CPU scheduling (`loop_priority`); takes effect at start.
    public var loopPriority: LoopPriority = .normal
    /// Creates the defaults.
    public init() {}
}

/// `scheduler.loop_priority`: how the kernel schedules the probing loop's thread.
public enum LoopPriority: String, Sendable, Hashable, CaseIterable {
    /// SCHED_OTHER, like every other thread (with a short EEVDF slice request).
    case normal
    /// SCHED_RR at priority 1, the lowest real-time one: the loop runs as soon as it is due,
    /// ahead of every normal task on its core. Why one would: on a host whose cores are busy
    /// (the store on the same two cores at 200k targets), a normal-priority loop waits for a
    /// core often enough to send 0.5–3.5% of its probes over 10 ms late. Needs CAP_SYS_NICE or
    /// RLIMIT_RTPRIO >= 1 (systemd: `LimitRTPRIO=1`, `RestrictRealtime=no`).
    case realtime
}

/// The bounded in-memory result queue (`queue:`).
public struct QueueConfig: Sendable, Hashable {
    /// Results held in memory before the spill log takes over; nil (`auto`, the default): sized
    /// from the targets at start, see ``capacity(targets:)``.
    public var memItemsCap: Int?
    /// Creates the defaults.
    public init() {}

    /// Results per (monitor, target) the queue holds when `mem_items_cap` is `auto`.
    public static let autoResultsPerTarget = 10
    /// The least `auto` gives, whatever the target count.
    public static let autoMinimum = 100_000

    /// The queue's capacity for an agent with `targets` (monitor, target) pairs.
    ///
    /// Why per target: when the agent starts (or the store restarts), every series is new to
    /// the store, and stores take a new series' first sample far slower than the next ones.
    /// Measured with VictoriaMetrics on the benchmark machine at 200k targets: the queue peaked
    /// at 912k results (4.5 cadences) 17 s after start, then drained in 17 s. A queue smaller
    /// than that burst sends it through the spill log, and in order-keeping mode every later
    /// result follows it through disk until the backlog drains: 16.5 instead of 13.7 µs of CPU
    /// a probe there, and later probes.
    public func capacity(targets: Int) -> Int {
        memItemsCap ?? max(Self.autoMinimum, Self.autoResultsPerTarget * targets)
    }
}

/// The on-disk spill log (`spill:`).
public struct SpillConfig: Sendable, Hashable {
    /// Directory of the segment files.
    public var directory: String = "/var/lib/probe-agent/spill"
    /// Byte cap over all segments; the oldest segment is dropped (and counted) past it. 1 GiB.
    public var maxBytes: Int64 = 1 << 30
    /// Results older than this are dropped (and counted). Default 24 h.
    public var maxAge: Duration = .seconds(24 * 3600)
    /// How often appended records are fsynced; the most a power loss can cost. Default 1 s;
    /// 0 fsyncs after every append (every shipper round, ~50 a second under load).
    public var fsyncInterval: Duration = .seconds(1)
    /// When results are written to the log (`spill.mode`).
    public var mode: SpillMode = .writeAhead
    /// Byte cap over the dead-letter directory (requests the store refused as malformed); the
    /// oldest request is dropped (and counted) past it. 64 MiB.
    public var deadLetterMaxBytes: Int64 = 64 << 20
    /// Creates the defaults.
    public init() {}
}

/// `spill.mode`: when results are written to the spill log.
public enum SpillMode: String, Sendable, Hashable, CaseIterable {
    /// Every result, before it waits anywhere: a crash or power loss costs at most
    /// `fsync_interval` of results, whatever the store does.
    case writeAhead = "write_ahead"
    /// Only when the store fails or the memory queue is full: no disk writes while the store
    /// keeps up, but a crash loses every result still in memory (up to `mem_items_cap`).
    case onFailure = "on_failure"
}

/// Prometheus remote-write 1.0 shipping to one store (`remote_write:`, a mapping, or one item
/// of it as a list: several stores, each with its own read position in the spill log).
public struct RemoteWriteConfig: Sendable, Hashable {
    /// The endpoint's identity: its read position in the spill log is kept under it, and its
    /// self-metrics carry it (`remote_name`). Unique among the endpoints; by default derived
    /// from the URL (``defaultName(url:)``).
    public var name: String
    /// Receiver URL, `http://` or `https://`.
    public var url: String
    /// Extra HTTP headers sent with every request.
    public var headers: [String: String] = [:]
    /// HTTP basic authentication; exclusive with `bearerToken` and `bearerTokenFile`.
    public var basicAuth: BasicAuth?
    /// Bearer token; exclusive with `basicAuth` and `bearerTokenFile`.
    public var bearerToken: String?
    /// File holding the bearer token (`bearer_token_file`), re-read when it changes; exclusive
    /// with `basicAuth` and `bearerToken`.
    public var bearerTokenFile: String?
    /// TLS files for `https://` receivers.
    public var tls: TLSFiles = .init()
    /// Labels added to every series sent; without `external_labels` in the file,
    /// `agent: <host name>` (the loader sets it; `external_labels: {}` opts out).
    public var externalLabels: [String: String] = [:]
    /// Most samples in one request. Default 2,000.
    public var samplesPerRequest: Int = 2_000
    /// Most requests on their way to the store at once (a series is only ever in one of them, so
    /// its samples stay in order). Default 4.
    public var requestsInFlight: Int = 4
    /// Longest a sample waits for a request to fill. Default 1 s.
    public var flushInterval: Duration = .seconds(1)
    /// How long one request may take before it counts as failed (and is retried).
    public var timeout: Duration = .seconds(10)
    /// Results per second read back from the spill log while recovering.
    public var backfillRate: Int = 20_000
    /// Ship live results straight away while the backlog drains (needs a store that accepts
    /// out-of-order samples); by default live results queue behind the backlog, so every
    /// series stays in order.
    public var freshFirst = false
    /// No answer from the store (or no turn of the shipper thread) for this long while work
    /// waits: delivery counts as stalled (/health 503, the watchdog is no longer fed).
    public var stallTimeout: Duration = .seconds(30)

    /// Creates a config for a receiver URL, named after it.
    public init(url: String) {
        self.url = url
        name = Self.defaultName(url: url)
    }

    /// Whether `name` can name an endpoint: 1 to 64 of `A-Z a-z 0-9 _ . -`, not starting with a
    /// dot (it is part of the file name of the endpoint's read position).
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard (1...64).contains(utf8.count), utf8[0] != UInt8(ascii: ".") else { return false }
        return utf8.allSatisfy { c in
            (0x30...0x39).contains(c) || (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
        }
    }

    /// The URL's host and port with every character a name cannot hold as `_`
    /// (`http://127.0.0.1:8428/api/v1/write` → `127.0.0.1_8428`), cut to 64.
    public static func defaultName(url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        var name = String(rest.map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "." || c == "_") ? c : "_"
        }.prefix(64))
        if name.hasPrefix(".") { name = "_" + name.dropFirst() }
        return name.isEmpty ? "remote_write" : name
    }

    /// Username and password for HTTP basic authentication.
    public struct BasicAuth: Sendable, Hashable {
        /// User name.
        public var username: String
        /// Password (empty when it comes from `passwordFile`).
        public var password: String
        /// File holding the password (`password_file`), re-read when it changes.
        public var passwordFile: String?
        /// Creates credentials.
        public init(username: String, password: String, passwordFile: String? = nil) {
            self.username = username
            self.password = password
            self.passwordFile = passwordFile
        }
    }

    /// PEM file paths; `cert` and `key` go together.
    public struct TLSFiles: Sendable, Hashable {
        /// CA bundle that verifies the receiver.
        public var caFile: String?
        /// Client certificate.
        public var certFile: String?
        /// Client private key.
        public var keyFile: String?
        /// No files: system trust store, no client certificate.
        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }
}

/// The HTTP listener (`http:`).
public struct HTTPConfig: Sendable, Hashable {
    /// `host:port` (IPv6 as `[::1]:port`). Default `127.0.0.1:9469`, loopback only. Port 0
    /// binds any free port (the agent logs and reports the one it got).
    public var listen: String = "127.0.0.1:9469"
    /// `web_config_file`: TLS, basic auth and headers for the listener (``WebConfig``);
    /// `--web.config.file` wins over it. Nil: plain HTTP, open to every local user.
    public var webConfigFile: String?
    /// Creates the defaults.
    public init() {}
}

/// What `/metrics` exposes (`metrics:`).
public struct MetricsConfig: Sendable, Hashable {
    /// Upper bounds of the per-target RTT histogram buckets (`probe_round_trip_seconds`).
    public static let defaultRTTBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1),
    ]
    /// One RTT histogram per target. Off for very large target counts: each histogram costs
    /// `rttBuckets.count + 3` series per target on every scrape.
    public var perTargetHistograms = true
    /// Strictly increasing bucket bounds, at most 40.
    public var rttBuckets: [Duration] = MetricsConfig.defaultRTTBuckets
    /// Creates the defaults.
    public init() {}
}

/// The admin API (`admin:`).
public struct AdminConfig: Sendable, Hashable {
    /// Unix socket path; its file permissions are the access control.
    public var socketPath: String = "/run/probe-agent/admin.sock"
    /// Creates the defaults.
    public init() {}
}

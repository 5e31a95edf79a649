import Foundation

/// `GET /v1/monitors`: every monitor with its targets' last results.
public struct MonitorsReply: Codable, Sendable {
    public var monitors: [Monitor]
    public init(monitors: [Monitor]) { self.monitors = monitors }

    public struct Monitor: Codable, Sendable {
        public var id: String
        public var `protocol`: String
        public var port: UInt16?
        public var cadenceSeconds: Double
        public var timeoutSeconds: Double
        public var labels: [String: String]
        public var dependsOn: [String]
        /// `up`, `down` (every target failing) or `suppressed` (a monitor it depends on is down).
        public var state: String
        public var failingTargets: Int
        public var sent: UInt64
        public var ok: UInt64
        /// ok / sent since the agent started (or the monitor last changed); nil before any result.
        public var successRate: Double?
        public var targets: [Target]
        /// With a `shard`: the targets of the whole list, of which `targets` are this agent's share.
        public var listedTargets: Int?

        public init(id: String, protocol p: String, port: UInt16?, cadenceSeconds: Double, timeoutSeconds: Double,
                    labels: [String: String], dependsOn: [String], state: String, failingTargets: Int,
                    sent: UInt64, ok: UInt64, targets: [Target], listedTargets: Int? = nil) {
            (self.id, self.protocol, self.port, self.cadenceSeconds, self.timeoutSeconds) = (id, p, port, cadenceSeconds, timeoutSeconds)
            (self.labels, self.dependsOn, self.state, self.failingTargets) = (labels, dependsOn, state, failingTargets)
            (self.sent, self.ok, self.targets, self.listedTargets) = (sent, ok, targets, listedTargets)
            successRate = sent > 0 ? Double(ok) / Double(sent) : nil
        }
    }

    public struct ICMPDetail: Codable, Sendable, Equatable {
        public var reporter: String?
        public var type: UInt8
        public var code: UInt8
        public var mtu: UInt32?
        public init(reporter: String?, type: UInt8, code: UInt8, mtu: UInt32?) {
            (self.reporter, self.type, self.code, self.mtu) = (reporter, type, code, mtu)
        }
    }

    public struct Target: Codable, Sendable {
        public var target: String
        public var address: String?
        /// ok, timeout, refused, unreachable, ttl_exceeded, fragmentation_needed, error or
        /// unresolved; nil before the first result.
        public var lastOutcome: String?
        /// When an ICMP error ended the latest probe: who sent it (nil: this host itself), its
        /// type and code, and the MTU of a fragmentation needed.
        public var lastICMP: ICMPDetail?
        public var lastSuppressed: Bool
        public var lastRTTSeconds: Double?
        public var lastSentAt: Date?
        public var sent: UInt64, ok: UInt64, timeouts: UInt64, errors: UInt64, suppressed: UInt64
        public var successRate: Double?
        /// The target's path, when its monitor has `path:`.
        public var path: PathDetail?

        public init(target: String, address: String?, lastOutcome: String?, lastSuppressed: Bool,
                    lastRTTSeconds: Double?, lastSentAt: Date?, sent: UInt64, ok: UInt64, timeouts: UInt64,
                    errors: UInt64, suppressed: UInt64) {
            (self.target, self.address, self.lastOutcome, self.lastSuppressed) = (target, address, lastOutcome, lastSuppressed)
            (self.lastRTTSeconds, self.lastSentAt) = (lastRTTSeconds, lastSentAt)
            (self.sent, self.ok, self.timeouts, self.errors, self.suppressed) = (sent, ok, timeouts, errors, suppressed)
            successRate = sent > 0 ? Double(ok) / Double(sent) : nil
        }
    }
}

/// `GET /v1/monitors/graph`: the `depends_on` graph (it has no cycles: the config loader refuses them).
public struct GraphReply: Codable, Sendable {
    public struct Node: Codable, Sendable {
        public var id: String
        public var dependsOn: [String]
        public var state: String
        public init(id: String, dependsOn: [String], state: String) { (self.id, self.dependsOn, self.state) = (id, dependsOn, state) }
    }
    public var nodes: [Node]
    public init(nodes: [Node]) { self.nodes = nodes }
}

/// `POST /v1/reload`: what the reload did, or why the file was refused (the running config stays).
public struct ReloadReply: Codable, Sendable {
    public var ok: Bool
    public var error: String?
    public var unchanged: [String], changed: [String], added: [String], removed: [String]
    /// Monitors whose target list changed; their other targets kept phase and counters.
    public var retargeted: [String]?
    public init(ok: Bool, error: String?, unchanged: [String] = [], changed: [String] = [], added: [String] = [],
                removed: [String] = [], retargeted: [String] = []) {
        (self.ok, self.error, self.unchanged, self.changed, self.added, self.removed) = (ok, error, unchanged, changed, added, removed)
        self.retargeted = retargeted
    }
}

/// One thing that happened, as `/v1/events` streams it and the log records it.
public struct AgentEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case started, stopping
        case monitorDown = "monitor_down", monitorUp = "monitor_up"
        case monitorSuppressed = "monitor_suppressed", monitorUnsuppressed = "monitor_unsuppressed"
        case modeChanged = "mode_changed"
        case deliveryStalled = "delivery_stalled", deliveryResumed = "delivery_resumed"
        case reloaded, reloadFailed = "reload_failed"
        /// A discovery source failed (its last good targets are kept).
        case discoveryFailed = "discovery_failed"
        /// A path monitor saw a target's path change (``target``, ``oldPath``, ``newPath``).
        case pathChanged = "path_changed"
    }
    public var time: Date
    public var kind: Kind
    public var monitor: String?
    public var message: String
    /// path_changed: the target, and its routers hop by hop before and now (`*`: no answer).
    public var target: String?
    public var oldPath: [String]?
    public var newPath: [String]?
    public init(time: Date = Date(), kind: Kind, monitor: String? = nil, message: String, target: String? = nil,
                oldPath: [String]? = nil, newPath: [String]? = nil) {
        (self.time, self.kind, self.monitor, self.message) = (time, kind, monitor, message)
        (self.target, self.oldPath, self.newPath) = (target, oldPath, newPath)
    }
}

/// An error answer from the admin API (any non-2xx status).
public struct ErrorReply: Codable, Sendable {
    public var error: String
    public init(error: String) { self.error = error }
}

extension JSONEncoder {
    /// The admin API's encoding: ISO-8601 dates, sorted keys.
    public static var admin: JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

extension JSONDecoder {
    public static var admin: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}

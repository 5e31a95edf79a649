/// Up/down state of one monitor, from its targets' latest results.
public struct MonitorHealth: Sendable, Hashable {
    /// Targets whose latest probe failed (timeout, refused, unreachable, error).
    public var failingTargets: Int
    /// Targets of the monitor.
    public var totalTargets: Int

    /// Creates a health record.
    public init(failingTargets: Int, totalTargets: Int) {
        self.failingTargets = failingTargets
        self.totalTargets = totalTargets
    }

    /// A monitor is down when it has targets and every one of them is failing.
    public var isDown: Bool { totalTargets > 0 && failingTargets >= totalTargets }
}

/// Decides whether a monitor's failures are suppressed because a monitor it depends on is down.
///
/// A child is suppressed while *any* of its direct parents is down (every target failing): a
/// child behind a dead router cannot be told apart from a dead child. Parents further up need no
/// walk: if a grandparent is down, the parent's own targets fail and the parent is down too.
/// The graph is acyclic (checked at load), and ids it does not know are never down.
public struct DependencyResolver: Sendable {
    private let graph: DependencyGraph

    /// Builds the resolver from a validated config's monitors.
    public init(monitors: [MonitorConfig]) {
        graph = DependencyGraph(monitors.map { ($0.id, $0.dependsOn) })
    }

    /// The parents of `monitorID` that are down now, in `depends_on` order.
    ///
    /// - Parameters:
    ///   - monitorID: The child monitor.
    ///   - health: Latest health per monitor id; a missing id counts as up.
    public func downParents(of monitorID: String, health: [String: MonitorHealth]) -> [String] {
        graph.parents(of: monitorID).filter { health[$0]?.isDown ?? false }
    }

    /// Whether a failure of `monitorID` should carry the `suppressed` status.
    public func isSuppressed(_ monitorID: String, health: [String: MonitorHealth]) -> Bool {
        !downParents(of: monitorID, health: health).isEmpty
    }
}

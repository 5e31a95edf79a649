/// Where delivery stands: `normal` (shipping live), `degraded` (store unreachable, spilling to
/// disk), `recovery` (store back, draining the backlog). Reported on /health and as a metric.
public enum DeliveryMode: String, Sendable, Hashable, Codable, CaseIterable {
    case normal, degraded, recovery
}

/// Tracks the mode with its reason and the time of the last change (caller's clock).
public struct ModeTracker: Sendable, Hashable {
    public private(set) var mode: DeliveryMode = .normal
    public private(set) var reason = "starting"
    public private(set) var changedAtMilliseconds: Int64
    /// Every mode entered, in order (bounded to the last 64).
    public private(set) var history: [DeliveryMode] = [.normal]

    public init(nowMilliseconds: Int64) { changedAtMilliseconds = nowMilliseconds }

    /// After a delivery attempt or a backlog change. Returns the new mode if it changed.
    ///
    /// - Parameters:
    ///   - storeFailing: the last attempt failed (retryable) and has not yet succeeded.
    ///   - backlog: results waiting on disk.
    @discardableResult
    public mutating func update(storeFailing: Bool, backlog: Int, reason: String, nowMilliseconds: Int64) -> DeliveryMode? {
        let next: DeliveryMode = storeFailing ? .degraded : backlog > 0 ? .recovery : .normal
        guard next != mode else { return nil }
        mode = next
        self.reason = reason
        changedAtMilliseconds = nowMilliseconds
        history.append(next)
        if history.count > 64 { history.removeFirst(history.count - 64) }
        return next
    }
}

/// One discovery source's latest good answer, its health, and when it is due again: pure
/// bookkeeping, the caller passes CLOCK_MONOTONIC nanoseconds.
///
/// A source has parts: the files a `file_sd_configs` entry's globs match (each its own list),
/// or the one answer of an `http_sd_configs` URL (part `""`). A part that fails (unreadable,
/// not a list of groups, an HTTP error) keeps its last good groups; the failure is counted and
/// its reason kept. Only a good answer changes a part's groups, so an empty list applies only
/// when the source said `[]` (or a file was removed: its targets go with it, as in Prometheus).
public struct DiscoverySource: Sendable {
    /// How `probeagent_sd_failures_total{source}` and log lines name it: `file:<glob>` or
    /// `http:<url without credentials or query>`.
    public let name: String
    public let refreshNanoseconds: UInt64
    public private(set) var nextRefreshAt: UInt64
    /// Last good groups by part (file path, or "" for HTTP).
    public private(set) var parts: [String: [TargetGroup]] = [:]
    /// Failed refreshes so far.
    public private(set) var failures: UInt64 = 0
    /// Why the latest refresh of each failing part failed; empty when all are well.
    public private(set) var failing: [String: String] = [:]
    /// Targets over every part's groups.
    public private(set) var targetCount = 0
    /// When a part last answered well (monotonic ns), nil before the first.
    public private(set) var lastSuccessAt: UInt64?

    public init(name: String, refresh: Duration, now: UInt64) {
        self.name = name
        refreshNanoseconds = UInt64(max(1, refresh.nanosecondsValue))
        nextRefreshAt = now
    }

    /// Every part's groups, parts in name order (so the merged list is the same every time).
    public var groups: [TargetGroup] { parts.keys.sorted().flatMap { parts[$0] ?? [] } }

    /// Whether a full refresh (every file, or a GET) is due.
    public func isDue(now: UInt64) -> Bool { now >= nextRefreshAt }

    /// A full refresh starts now: the next is one interval later.
    public mutating func refreshing(now: UInt64) { nextRefreshAt = now + refreshNanoseconds }

    /// A part answered with `groups`; returns whether the source's groups changed.
    public mutating func answered(part: String, _ groups: [TargetGroup], now: UInt64) -> Bool {
        failing[part] = nil
        lastSuccessAt = now
        guard parts[part] != groups else { return false }
        targetCount += Self.count(groups) - Self.count(parts[part] ?? [])
        parts[part] = groups
        return true
    }

    /// A part failed; its last good groups stay. Returns whether the reason is new (worth a
    /// log line and an event; the same failure again is only counted).
    public mutating func failed(part: String, _ why: String) -> Bool {
        failures += 1
        defer { failing[part] = why }
        return failing[part] != why
    }

    /// A part is gone (a file removed, or no longer matched): its groups go. Returns whether
    /// the source's groups changed.
    public mutating func vanished(part: String) -> Bool {
        failing[part] = nil
        guard let gone = parts.removeValue(forKey: part) else { return false }
        targetCount -= Self.count(gone)
        return true
    }

    private static func count(_ groups: [TargetGroup]) -> Int { groups.reduce(0) { $0 + $1.targets.count } }
}

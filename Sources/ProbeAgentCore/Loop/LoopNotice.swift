/// What the probing loop decided that someone should hear of: the driver turns each into an
/// admin event and/or a log line (probe-agent's LoopState+Notices.swift).
public enum LoopNotice: Sendable, Equatable {
    /// The first probes went to the engine.
    case probingStarted(monitors: Int, targets: Int)
    /// Every target of the monitor fails now.
    case monitorDown(String, targets: Int)
    /// A down monitor has an answering target again.
    case monitorUp(String, answering: Int, targets: Int)
    /// A monitor this one depends on went down: its failures count as suppressed.
    case suppressed(String)
    case unsuppressed(String)
    /// A hostname's addresses changed (text forms, the resolver's order).
    case resolved(String, addresses: [String])
    /// A hostname's lookup failed; `kept`: the address still probed, if any.
    case resolveFailing(String, why: String, kept: String?)
    /// `all_addresses` monitors re-expanded after their names' addresses changed.
    case addressesExpanded([String])
    /// A reload was applied.
    case reloaded(reason: String, ReloadReport)
    /// A reload was refused; the running config stays.
    case reloadFailed(reason: String, error: String)
    /// A target's path changed (path monitors).
    case pathChanged(PathChange)
    /// A reload changed sections that are read only at start (YAML names).
    case restartRequired([String])
}

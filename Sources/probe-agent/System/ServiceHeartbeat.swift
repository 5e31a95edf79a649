import ProbeAgentCore

/// What the probing loop tells systemd: READY=1 once probing has started, then WATCHDOG=1 for
/// as long as the loop keeps turning.
///
/// Owned by ``LoopState`` and used only on the loop thread. The watchdog pings come from the
/// loop itself on purpose: if the loop wedges (a stuck engine call, a livelock), the pings stop
/// and systemd restarts the agent, where a helper thread would go on pinging for it. A stalled
/// shipper (Shipper.stallReason) stops the pings too: an agent that probes but can no longer
/// deliver or persist is restarted rather than left to lose what it measures. Not under
/// systemd, ``beat(now:submitted:)`` costs two comparisons that always fail.
struct ServiceHeartbeat {
    /// CLOCK_MONOTONIC ns of the next WATCHDOG=1; `UInt64.max` when systemd does not watch, so
    /// the loop never wakes up for it.
    private(set) var nextPingAt: UInt64 = .max
    private let pingInterval: UInt64
    private var readyPending: Bool // until the first batch went out
    private var readySent = false
    /// READY=1 is sent by then even if no probe could be submitted yet (every target
    /// unresolved, or the first one due much later), so a slow start is not a failed start.
    private let readyBy: UInt64
    private let notifier: ServiceNotifier
    private var summary: String
    private let deliveryStalled: @Sendable () -> Bool

    init(config: AgentConfig, now: UInt64, notifier: ServiceNotifier = .shared,
         deliveryStalled: @escaping @Sendable () -> Bool = { false }) {
        self.notifier = notifier
        self.deliveryStalled = deliveryStalled
        readyPending = notifier.isEnabled
        readyBy = now + 1_000_000_000
        summary = Self.summary(config)
        pingInterval = notifier.watchdogInterval ?? 0
        if pingInterval > 0 { nextPingAt = now + pingInterval }
    }

    /// Called once per loop iteration, after this iteration's probes went to the engine.
    /// - Parameters:
    ///   - now: CLOCK_MONOTONIC ns at the start of the iteration.
    ///   - submitted: probes the engine accepted in this iteration.
    @inline(__always)
    mutating func beat(now: UInt64, submitted: Int) {
        if now >= nextPingAt { ping(now: now) }
        if readyPending { announceReady(now: now, submitted: submitted) }
    }

    /// A reload was applied: READY=1 ends the RELOADING=1 the reloader sent.
    mutating func reloaded(config: AgentConfig) {
        summary = Self.summary(config)
        notifier.ready(status: "probing \(summary); config reloaded")
    }

    /// A reload was refused: still READY=1 (the old config keeps running), with the reason.
    func reloadFailed(_ reason: String) {
        notifier.ready(status: "probing \(summary); config reload failed, kept the running config: \(reason)")
    }

    private mutating func ping(now: UInt64) {
        if !deliveryStalled() { notifier.watchdog() }
        nextPingAt = now + pingInterval
    }

    /// READY=1 with the first submitted batch; or, past `readyBy`, READY=1 saying no probe went
    /// out yet and a STATUS update when the first one does.
    private mutating func announceReady(now: UInt64, submitted: Int) {
        if submitted > 0 {
            if readySent { notifier.status("probing \(summary)") } else { notifier.ready(status: "probing \(summary)") }
            readyPending = false
        } else if !readySent && now >= readyBy {
            notifier.ready(status: "started \(summary); no probe sent yet")
            readySent = true
        }
    }

    private static func summary(_ config: AgentConfig) -> String {
        let targets = config.targetCount
        return "\(config.monitors.count) monitor\(config.monitors.count == 1 ? "" : "s"), \(targets) target\(targets == 1 ? "" : "s")"
    }
}

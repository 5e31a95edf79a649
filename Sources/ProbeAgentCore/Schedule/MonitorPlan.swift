/// What every entry of one monitor shares: its names and probe settings, kept once per monitor.
///
/// A schedule slot holds only what differs per target (plan index, target index, next fire,
/// timer handle, flags: 32 bytes); the monitor id, the target strings (shared copy-on-write
/// with the config's array), protocol, port, timeout and cadence live here. At 100k
/// targets this is the difference between ~32 and ~120 bytes per entry.
struct MonitorPlan: Sendable {
    var id: String
    /// The config's `targets` array itself (copy-on-write: no copy of the strings).
    var targets: [String]
    var probeProtocol: ProbeProtocol
    var port: UInt16?
    var timeout: Duration
    /// Nanoseconds, at least 1.
    var cadence: UInt64
    /// The slots of this monitor's entries, in target order.
    var slots: [Int32]

    init(_ monitor: MonitorConfig, slots: [Int32]) {
        id = monitor.id
        targets = monitor.targets
        probeProtocol = monitor.probeProtocol
        port = monitor.port
        timeout = monitor.timeout
        cadence = UInt64(max(1, monitor.cadence.nanosecondsValue))
        self.slots = slots
    }

    /// Whether `monitor` probes the way this plan does (protocol, port, cadence, timeout): only
    /// a change of these re-phases a monitor's entries. Targets and labels may differ.
    func probesAlike(_ monitor: MonitorConfig) -> Bool {
        probeProtocol == monitor.probeProtocol && port == monitor.port && timeout == monitor.timeout
            && cadence == UInt64(max(1, monitor.cadence.nanosecondsValue))
    }

    /// A freed plan: holds nothing, so a removed monitor's strings are released at once.
    static let vacant = MonitorPlan(MonitorConfig(id: "", probeProtocol: .icmp, targets: []), slots: [])
}

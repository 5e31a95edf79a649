import Foundation
import ProbeAgentCore
import ProbeEngine

/// The probing loop's state at one instant, for the status file, `/metrics` and the admin API.
///
/// Taken on the loop thread from copy-on-write values (a few retains, no copying); whoever
/// receives it formats it on their own thread. The loop pays one copy of a table only if it
/// mutates that table while a snapshot still holds it.
struct LoopSnapshot: Sendable {
    var takenAt = Date()
    var startedAt: Date
    var configPath: String
    var config: AgentConfig
    var schedule: Schedule
    var ledger: ResultLedger
    var addresses: AddressBook
    var engine: Engine.Stats
    var engineInfo: Engine.Info
    var reloads: ReloadStatus
    var staleResults: UInt64
    var pendingSends: Int
    var inFlight: Int
    var probing: Bool
    /// Work per loop turn (LoopTurnClock).
    var loopTurns: DurationHistogram

    var targetCount: Int { config.targetCount }
    var monitorsDown: [String] { config.monitors.filter { ledger.health[$0.id]?.isDown ?? false }.map(\.id) }
    var monitorsSuppressed: [String] { config.monitors.filter { ledger.isSuppressed($0.id) }.map(\.id) }

    /// `up`, `down` or `suppressed`.
    func state(of monitorID: String) -> String {
        if ledger.isSuppressed(monitorID) { return "suppressed" }
        return ledger.health[monitorID]?.isDown ?? false ? "down" : "up"
    }
}

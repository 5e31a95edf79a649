import Foundation

/// What changes the loop's tables without a probe: reloads and DNS answers.
extension ProbeLoop {
    /// Swaps in a config prepared off the loop (``PreparedConfig``: literals parsed, labels
    /// merged, target diffs against the lists the loop has). Every target whose monitor still
    /// probes it alike keeps its schedule entry, phase and counters
    /// (``Schedule/apply(_:now:diffs:)``); nothing here parses, resolves or hashes targets.
    public mutating func reload(_ prepared: PreparedConfig, reason: String, now: UInt64, at wall: Date) -> ReloadReport {
        let new = prepared.config
        var book = prepared.addresses
        book.keepLastGood(from: addresses)
        let expanded = new.expandingAddresses(book.addressTexts)
        for m in expanded.monitors where m.allAddresses { book.setScheduledTargets(of: m) }
        let report = install(expanded, now: now, diffs: prepared.diffs)
        addresses = book
        let restart = new.restartOnlyChanges(from: config)
        if !restart.isEmpty { appendNotice(.restartRequired(restart)) }
        packetOptions = Self.packetOptions(new)
        burstMonitors = Self.bursts(new)
        seriesLabels = prepared.labels
        expandsAddresses = new.expandsAddresses
        config = new
        reloads.succeeded += 1
        reloads.lastError = nil
        reloads.lastAt = wall
        reloads.last = report
        appendNotice(.reloaded(reason: reason, report))
        noteSuppressionChanges()
        return report
    }

    /// A reload the reloader refused: the running config stays.
    public mutating func reloadFailed(_ error: String, reason: String, at wall: Date) {
        reloads.failed += 1
        reloads.lastError = error
        reloads.lastAt = wall
        appendNotice(.reloadFailed(reason: reason, error: error))
    }

    /// The resolver's whole view. Names whose addresses changed are probed at their new ones
    /// from the next due probe; `all_addresses` monitors whose names changed are re-expanded
    /// (such a monitor is re-phased and its counters start again, like a monitor a reload
    /// changed; the other monitors are untouched).
    public mutating func resolved(_ names: ResolvedNames, now: UInt64) {
        let (changed, failing) = addresses.merge(names)
        for n in changed { appendNotice(.resolved(n, addresses: addresses.addressTexts(n) ?? [])) }
        for n in failing {
            appendNotice(.resolveFailing(n, why: addresses.failures[n] ?? "?", kept: addresses.address(forHostname: n)?.description))
        }
        guard !changed.isEmpty, config.expandsAddresses else { return }
        let expanded = config.expandingAddresses(addresses.addressTexts)
        guard expanded != probed else { return }
        for m in expanded.monitors where m.allAddresses { addresses.setScheduledTargets(of: m) }
        let report = install(expanded, now: now)
        if !report.changed.isEmpty { appendNotice(.addressesExpanded(report.changed)) }
        noteSuppressionChanges()
    }

    /// Swaps the schedule and the ledger to `expanded` (kept targets keep their entries,
    /// phases and counters).
    private mutating func install(_ expanded: AgentConfig, now: UInt64, diffs: [String: TargetDiff] = [:]) -> ReloadReport {
        let report = schedule.apply(expanded, now: now, diffs: diffs)
        var recount: [String: [Int]] = [:]
        for id in report.changed + report.added { recount[id] = schedule.cookies(monitorID: id).map(\.slot) }
        var retargeted: [String: ArraySlice<ProbeCookie>] = [:]
        for (id, span) in report.removedSpan { retargeted[id] = report.removedCookies[span] }
        ledger.apply(expanded, removedSlots: report.removedCookies.map(\.slot), recount: recount, retargeted: retargeted)
        for c in burstLeft.keys where !schedule.isLive(ProbeCookie(rawValue: c)) { burstLeft[c] = nil }
        paths.apply(expanded, now: now)
        probed = expanded
        return report
    }
}

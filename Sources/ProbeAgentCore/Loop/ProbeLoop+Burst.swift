/// Bursts (`packets: N`, `spacing`): a due entry of such a monitor sends its first probe at
/// once and N-1 more `spacing` apart, all under the entry's cookie; every result is counted
/// (so `sent` grows by N per cycle and loss has 1/N resolution), and the entry completes in
/// the schedule with the last of them. Monitors without a burst never touch these tables.
extension ProbeLoop {
    /// The monitors with `packets` > 1: (packets, spacing in ns).
    static func bursts(_ config: AgentConfig) -> [String: (packets: Int, spacing: UInt64)] {
        Dictionary(uniqueKeysWithValues: config.monitors.filter { $0.packets > 1 }.map {
            ($0.id, ($0.packets, UInt64($0.spacing.nanosecondsValue)))
        })
    }

    /// The rest of `first`'s burst: due `spacing` apart after it.
    mutating func scheduleBurst(after first: ProbeRequest, packets: Int, spacing: UInt64) {
        burstLeft[first.cookie] = packets
        for i in 1..<packets {
            var r = first
            r.dueNanoseconds = first.dueNanoseconds + UInt64(i) * spacing
            let at = spaced.firstIndex { $0.dueNanoseconds > r.dueNanoseconds } ?? spaced.endIndex
            spaced.insert(r, at: at) // a burst monitor's few entries per tick: no heap needed
        }
    }

    /// Moves the burst probes due by `now` to the pending queue; those of entries a reload
    /// removed are dropped with their burst.
    mutating func releaseSpaced(now: UInt64) {
        var n = 0
        while n < spaced.count && spaced[n].dueNanoseconds <= now { n += 1 }
        guard n > 0 else { return }
        for r in spaced[..<n] {
            if schedule.isLive(ProbeCookie(rawValue: r.cookie)) { appendPending(r) } else { burstLeft[r.cookie] = nil }
        }
        spaced.removeFirst(n)
    }

    /// Whether the entry is done with this result: always without a burst; with one, at its
    /// last result.
    mutating func burstDone(_ cookie: UInt64) -> Bool {
        guard !burstLeft.isEmpty, let left = burstLeft[cookie] else { return true }
        if left > 1 {
            burstLeft[cookie] = left - 1
            return false
        }
        burstLeft[cookie] = nil
        return true
    }
}

/// Which stalls stop delivery as a whole and which only one store's.
///
/// A stall is delivery that makes no progress with work waiting, for `stall_timeout`. Two
/// kinds are every store's at once: the shipper thread not turning (a hung disk or call) and
/// a spill log that cannot be opened. The third is a store's own: its requests unanswered.
/// A store of its own stalled is that store's problem only — it is shown on that store (its
/// `stalled`, `probeagent_remote_write_stalled`, an event), its results wait in the log at
/// its read position, and the other stores go on. Delivery as a whole (/health 503, the
/// systemd watchdog no longer fed, so systemd restarts the agent) is stalled only when
/// nothing is delivering: a shared stall, or every store stalled. With one store that is the
/// behaviour it always had.
public struct DeliveryStall: Sendable, Equatable {
    /// Per store, in `remote_write` order: why it is stalled, nil while it is not.
    public var stores: [String?]
    /// Why delivery as a whole is stalled, nil while some store is delivering.
    public var whole: String?

    /// - Parameters:
    ///   - shared: why every store is stalled at once (the shipper thread, the log), or nil.
    ///   - unanswered: per store, whether its requests have gone unanswered for its `stall_timeout`.
    ///   - names: per store, how messages name it (`remote_write 'name'`, or `the store` alone).
    ///   - timeouts: per store, its `stall_timeout` as written.
    public init(shared: String?, unanswered: [Bool], names: [String], timeouts: [String]) {
        precondition(unanswered.count == names.count && names.count == timeouts.count, "one entry per store")
        if let shared {
            stores = unanswered.map { _ in shared }
            whole = shared
            return
        }
        stores = unanswered.indices.map { i in
            unanswered[i] ? "delivery stalled: no answer from \(names[i]) for over \(timeouts[i]) with requests on their way" : nil
        }
        let stalled = unanswered.indices.filter { unanswered[$0] }
        whole = stalled.isEmpty || stalled.count < unanswered.count ? nil
            : "delivery stalled: no answer from \(stalled.map { "\(names[$0]) for over \(timeouts[$0])" }.joined(separator: ", ")) with requests on their way"
    }

    /// For the log and the event stream: the whole stall, else the stores stalled on their
    /// own (the others deliver), else nil.
    public var summary: String? {
        if let whole { return whole }
        let own = stores.compactMap { $0 }
        return own.isEmpty ? nil : own.joined(separator: "; ") + " (the other stores are delivering)"
    }
}

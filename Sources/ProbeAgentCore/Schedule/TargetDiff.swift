/// How one monitor's new target list maps onto its old one: for each new target, the index it
/// had in the old list, or -1 for a new target. A target is its string as listed (an address,
/// a hostname, or an `all_addresses` expansion `name/address`); with the monitor's id and port
/// that is the target's identity across reloads.
///
/// Computing it hashes every target of both lists (~10 ms at 100k in a release build), so a
/// discovery refresh computes it off the probing loop against the list it last handed over
/// (`base`); the loop uses it only when its own list is that very array (`==` on arrays that
/// share storage is O(1)), and computes it itself otherwise.
public struct TargetDiff: Sendable {
    /// The old list this diff was computed against.
    public let base: [String]
    /// By new index: the old index, or -1.
    public let oldIndex: [Int32]

    /// - Parameters:
    ///   - old: the list the schedule has.
    ///   - new: the list it will have (no duplicates: the loader and discovery dedupe).
    public init(from old: [String], to new: [String]) {
        base = old
        var position: [String: Int32] = [:]
        position.reserveCapacity(old.count)
        for (i, t) in old.enumerated() { position[t] = Int32(i) }
        oldIndex = new.map { position[$0] ?? -1 }
    }

    /// Targets of the new list that were in the old one.
    public var keptCount: Int { oldIndex.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

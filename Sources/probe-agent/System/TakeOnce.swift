import Synchronization

/// A value for work that runs later (or on another thread), taken out exactly once: the
/// engine handed from the main thread to the loop's, a snapshot for a status write or a scrape.
///
/// A snapshot taken out is freed when that work is done with it, not when the closure that
/// carried it is released. Why that matters: a snapshot's copy-on-write arrays (tens of MB at
/// 100k targets) freed after the ``FreedMemory/release()`` that follows a status write or a
/// scrape stay resident until the next one (measured: ~200 bytes a target of RSS).
final class TakeOnce<Value>: Sendable {
    private let slot: Mutex<Value?>

    init(_ value: sending Value) { slot = Mutex(value) }

    /// The value the first time, nil afterwards.
    func take() -> Value? {
        slot.withLock { v in
            defer { v = nil }
            return v
        }
    }
}

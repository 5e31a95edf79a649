/// The bounded in-memory queue between the probing loop and the shipper (`queue.mem_items_cap`).
///
/// A ring over an array: O(1) push and pop. A push into a full queue is refused (the caller
/// spills the result to disk instead) and counted. The ring's storage grows (doubling) only when
/// the elements held fill it, so it stays the size of the largest backlog seen, not of
/// `capacity`; storage grown by a burst is released when the queue next runs empty.
///
/// Its operations are `@inlinable` so that the shipper's `MemoryQueue<ResultRecord>` is
/// specialised in the Shipper module: unspecialised, every push and pop went through the
/// runtime's generic metadata and value witnesses (perf at 200k targets, the shipper thread).
public struct MemoryQueue<Element>: Sendable where Element: Sendable {
    /// `ring.count` slots; the queue's elements are `count` slots from `head`, wrapping.
    @usableFromInline var ring: [Element?]
    @usableFromInline var head = 0
    @usableFromInline var held = 0
    /// Elements queued.
    public var count: Int { held }
    public let capacity: Int
    /// Ring storage kept when the queue empties (larger is released; see ``pop(max:while:)``).
    @usableFromInline static var keptCapacity: Int { 8192 }
    /// Elements the ring's storage has room for now.
    var storageCapacity: Int { ring.count }
    /// Pushes refused because the queue was full.
    public var refused: UInt64 { refusedPushes }
    @usableFromInline var refusedPushes: UInt64 = 0
    /// Times a drained burst's storage was let go (the owner may hand the pages back then).
    public var storageReleases: UInt64 { releases }
    @usableFromInline var releases: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring = []
    }

    @inlinable public var isEmpty: Bool { held == 0 }
    @inlinable public var isFull: Bool { held == capacity }

    /// Appends; false (and counted) when full.
    @inlinable public mutating func push(_ e: Element) -> Bool {
        guard held < capacity else {
            refusedPushes += 1
            return false
        }
        if held == ring.count { grow() }
        ring[(head + held) % ring.count] = e
        held += 1
        return true
    }

    /// Twice the slots (at most `capacity`), the elements moved to the front in order. Why not
    /// simply append at the tail: with a steady flow the tail keeps moving, so the ring would
    /// grow to `capacity` however few elements it ever held (at 100k targets, 8+ MB resident
    /// for a backlog of a few hundred results).
    @usableFromInline mutating func grow() {
        let size = Swift.min(capacity, Swift.max(16, ring.count * 2))
        var grown = [Element?](repeating: nil, count: size)
        for i in 0..<held { grown[i] = ring[(head + i) % ring.count] }
        ring = grown
        head = 0
    }

    /// Removes and returns up to `max` elements, oldest first.
    @inlinable public mutating func pop(max: Int) -> [Element] { pop(max: max) { _ in true } }

    /// Removes and returns up to `max` elements, oldest first, stopping before the first one
    /// `take` refuses (which stays at the head).
    @inlinable public mutating func pop(max: Int, while take: (Element) -> Bool) -> [Element] {
        let n = min(max, held)
        var out: [Element] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard take(ring[head]!) else { break }
            out.append(ring[head]!)
            ring[head] = nil
            head = (head + 1) % ring.count
            held -= 1
        }
        if held == 0 {
            head = 0
            // After a burst, the ring's storage (up to capacity × the element, 7 MB at 100k
            // results) goes back; steady state stays under the kept size and reuses it.
            if ring.count > Self.keptCapacity {
                ring = []
                releases += 1
            }
        }
        return out
    }

    /// Everything, oldest first (SIGTERM: the queue goes to disk).
    @inlinable public mutating func drain() -> [Element] { pop(max: held) }
}

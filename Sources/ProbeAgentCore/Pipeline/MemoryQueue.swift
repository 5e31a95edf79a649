/// The bounded in-memory queue between the probing loop and the shipper (`queue.mem_items_cap`).
///
/// A ring over an array: O(1) push and pop. A push into a full queue is refused (the caller
/// spills the result to disk instead) and counted. The ring's storage grows (doubling) only when
/// the elements held fill it, so it stays the size of the largest backlog seen, not of
/// `capacity`; storage grown by a burst is released when the queue next runs empty.
public struct MemoryQueue<Element>: Sendable where Element: Sendable {
    /// `ring.count` slots; the queue's elements are `count` slots from `head`, wrapping.
    private var ring: [Element?]
    private var head = 0
    public private(set) var count = 0
    public let capacity: Int
    /// Ring storage kept when the queue empties (larger is released; see ``pop(max:while:)``).
    static var keptCapacity: Int { 8192 }
    /// Elements the ring's storage has room for now.
    var storageCapacity: Int { ring.count }
    /// Pushes refused because the queue was full.
    public private(set) var refused: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring = []
    }

    public var isEmpty: Bool { count == 0 }
    public var isFull: Bool { count == capacity }

    /// Appends; false (and counted) when full.
    public mutating func push(_ e: Element) -> Bool {
        guard count < capacity else {
            refused += 1
            return false
        }
        if count == ring.count { grow() }
        ring[(head + count) % ring.count] = e
        count += 1
        return true
    }

    /// Twice the slots (at most `capacity`), the elements moved to the front in order. Why not
    /// simply append at the tail: with a steady flow the tail keeps moving, so the ring would
    /// grow to `capacity` however few elements it ever held (at 100k targets, 8+ MB resident
    /// for a backlog of a few hundred results).
    private mutating func grow() {
        let size = Swift.min(capacity, Swift.max(16, ring.count * 2))
        var grown = [Element?](repeating: nil, count: size)
        for i in 0..<count { grown[i] = ring[(head + i) % ring.count] }
        ring = grown
        head = 0
    }

    /// Removes and returns up to `max` elements, oldest first.
    public mutating func pop(max: Int) -> [Element] { pop(max: max) { _ in true } }

    /// Removes and returns up to `max` elements, oldest first, stopping before the first one
    /// `take` refuses (which stays at the head).
    public mutating func pop(max: Int, while take: (Element) -> Bool) -> [Element] {
        let n = min(max, count)
        var out: [Element] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard take(ring[head]!) else { break }
            out.append(ring[head]!)
            ring[head] = nil
            head = (head + 1) % ring.count
            count -= 1
        }
        if count == 0 {
            head = 0
            // After a burst, the ring's storage (up to capacity × the element, 7 MB at 100k
            // results) goes back; steady state stays under the kept size and reuses it.
            if ring.count > Self.keptCapacity { ring = [] }
        }
        return out
    }

    /// Everything, oldest first (SIGTERM: the queue goes to disk).
    public mutating func drain() -> [Element] { pop(max: count) }
}

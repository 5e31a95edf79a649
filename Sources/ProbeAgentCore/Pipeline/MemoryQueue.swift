/// The bounded in-memory queue between the probing loop and the shipper (`queue.mem_items_cap`).
///
/// A ring over an array: O(1) push and pop, no reallocation while it stays under its first
/// fill. A push into a full queue is refused (the caller spills the result to disk instead)
/// and counted. Storage grown by a burst is released when the queue next runs empty.
public struct MemoryQueue<Element>: Sendable where Element: Sendable {
    private var ring: [Element?]
    private var head = 0
    public private(set) var count = 0
    public let capacity: Int
    /// Ring storage kept when the queue empties (larger is released; see ``pop(max:while:)``).
    static var keptCapacity: Int { 8192 }
    /// Elements the ring's storage has room for now.
    var storageCapacity: Int { ring.capacity }
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
        if ring.count < capacity && ring.count == (head + count) { ring.append(e) } else { ring[(head + count) % capacity] = e }
        count += 1
        return true
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
            head = (head + 1) % capacity
            count -= 1
        }
        if count == 0 {
            head = 0
            // After a burst filled it, the ring's storage (capacity × the element, 7 MB at
            // 100k results) goes back; steady state stays under the kept size and reuses it.
            if ring.capacity > Self.keptCapacity { ring = [] } else { ring.removeAll(keepingCapacity: true) }
        }
        return out
    }

    /// Everything, oldest first (SIGTERM: the queue goes to disk).
    public mutating func drain() -> [Element] { pop(max: count) }
}

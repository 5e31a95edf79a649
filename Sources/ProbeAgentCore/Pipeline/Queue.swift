/// A FIFO over an array with a moving head: O(1) push and pop, indexable from the front.
///
/// The delivery state machine's lanes and chunk list. Storage is compacted when the popped
/// prefix is over half of it, so a queue that drains gives its memory back on the next push.
struct Queue<Element>: Sendable where Element: Sendable {
    private var items: [Element] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }
    var first: Element? { head < items.count ? items[head] : nil }
    var last: Element? { head < items.count ? items[items.count - 1] : nil }

    subscript(i: Int) -> Element {
        get { items[head + i] }
        set { items[head + i] = newValue }
    }

    mutating func push(_ e: Element) {
        if head > 0 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        items.append(e)
    }

    /// Puts an element back at the front (O(1) after a pop, O(n) otherwise).
    mutating func pushFront(_ e: Element) {
        if head > 0 {
            head -= 1
            items[head] = e
        } else {
            items.insert(e, at: 0)
        }
    }

    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        defer {
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: items.count <= 8192)
                head = 0
            }
        }
        return items[head]
    }

    /// Up to `max` elements from the front, in order.
    mutating func pop(max: Int) -> [Element] {
        let n = Swift.min(max, count)
        let out = Array(items[head..<head + n])
        head += n
        if head == items.count {
            items.removeAll(keepingCapacity: items.count <= 8192)
            head = 0
        }
        return out
    }

    mutating func drain() -> [Element] { pop(max: count) }
}

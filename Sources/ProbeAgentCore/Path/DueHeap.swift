/// A binary min-heap of (due time, slot): which path tracker's trace starts next. O(log n)
/// push and pop; entries are not removed when their tracker goes or moves, the reader checks
/// each popped entry against the tracker (lazy deletion).
struct DueHeap: Sendable {
    private var items: [(at: UInt64, slot: Int)] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: (at: UInt64, slot: Int)? { items.first }

    mutating func push(_ at: UInt64, _ slot: Int) {
        items.append((at, slot))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].at < items[parent].at else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (at: UInt64, slot: Int)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].at < items[m].at { m = l }
            if r < items.count && items[r].at < items[m].at { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}

/// Node allocation and the intrusive slot lists of ``TimerWheel``.
extension TimerWheel {
    /// Takes a node from the free list, or grows the array.
    mutating func allocate() -> Int32 {
        if freeHead >= 0 {
            let index = freeHead
            freeHead = nodes[Int(index)].next
            nodes[Int(index)].next = -1
            nodes[Int(index)].prev = -1
            return index
        }
        precondition(nodes.count < Int(Int32.max), "timer wheel full")
        nodes.append(Node())
        return Int32(nodes.count - 1)
    }

    /// Returns a node to the free list; bumping the generation invalidates its handles.
    mutating func release(_ index: Int32) {
        nodes[Int(index)].generation &+= 1
        nodes[Int(index)].list = -1
        nodes[Int(index)].prev = -1
        nodes[Int(index)].next = freeHead
        freeHead = index
    }

    /// Appends a node to the list its deadline belongs in, relative to `elapsed`.
    mutating func place(_ index: Int32) {
        let deadline = nodes[Int(index)].deadline
        let level = WheelGeometry.level(for: deadline, elapsed: elapsed)
        var list: Int
        if level >= WheelGeometry.levels {
            list = Int(Self.overflowList)
            overflowMin = min(overflowMin, deadline)
        } else {
            let slot = WheelGeometry.slot(for: max(deadline, elapsed), level: level)
            list = level * WheelGeometry.slotsPerLevel + slot
            occupied[level] |= 1 << UInt64(slot)
            // Earlier than the tail: the slot's late list, so this list stays in deadline order.
            if level == 1, tails[list] >= 0, nodes[Int(tails[list])].deadline > deadline { list = Self.lateLists + slot }
        }
        let tail = tails[list]
        nodes[Int(index)].list = Int32(list)
        nodes[Int(index)].prev = tail
        nodes[Int(index)].next = -1
        if tail >= 0 { nodes[Int(tail)].next = index } else { heads[list] = index }
        tails[list] = index
    }

    /// Removes a node from its list, clearing the slot's bit when the list empties.
    mutating func unlink(_ index: Int32) {
        let node = nodes[Int(index)]
        let list = Int(node.list)
        if node.prev >= 0 { nodes[Int(node.prev)].next = node.next } else { heads[list] = node.next }
        if node.next >= 0 { nodes[Int(node.next)].prev = node.prev } else { tails[list] = node.prev }
        // The slot's bit goes when its lists are empty (a level-1 slot has two). Also for the
        // draining list: its bit is clear already, so this changes nothing.
        if heads[list] < 0, list != Int(Self.overflowList) {
            let (level, slot) = list > Int(Self.overflowList)
                ? (1, list - Self.lateLists)
                : (list / WheelGeometry.slotsPerLevel, list % WheelGeometry.slotsPerLevel)
            if level != 1 || heads[WheelGeometry.slotsPerLevel + slot] < 0 && heads[Self.lateLists + slot] < 0 {
                occupied[level] &= ~(1 << UInt64(slot))
            }
        }
        nodes[Int(index)].list = -1
    }
}

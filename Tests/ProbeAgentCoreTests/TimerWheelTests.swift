import Testing
@testable import ProbeAgentCore

@Suite struct WheelGeometryTests {
    @Test func levelFollowsHighestDifferingBit() {
        #expect(WheelGeometry.level(for: 0, elapsed: 0) == 0)
        #expect(WheelGeometry.level(for: 63, elapsed: 0) == 0)
        #expect(WheelGeometry.level(for: 64, elapsed: 0) == 1)
        #expect(WheelGeometry.level(for: 4095, elapsed: 0) == 1)
        #expect(WheelGeometry.level(for: 4096, elapsed: 0) == 2)
        #expect(WheelGeometry.level(for: (1 << 36) - 1, elapsed: 0) == 5)
        #expect(WheelGeometry.level(for: 1 << 36, elapsed: 0) == WheelGeometry.levels)
        #expect(WheelGeometry.level(for: .max, elapsed: 0) == WheelGeometry.levels)
        // Same 64-tick block as elapsed → level 0, even when close to its end.
        #expect(WheelGeometry.level(for: 127, elapsed: 100) == 0)
        // Crossing a 64-tick boundary, however close, → level 1.
        #expect(WheelGeometry.level(for: 70, elapsed: 60) == 1)
        // Past deadlines are placed as if due now.
        #expect(WheelGeometry.level(for: 5, elapsed: 1_000_000) == 0)
    }

    @Test func slotIsSixBitsOfTheDeadline() {
        let deadline: UInt64 = 3 + 5 * 64 + 7 * 4096
        #expect(WheelGeometry.slot(for: deadline, level: 0) == 3)
        #expect(WheelGeometry.slot(for: deadline, level: 1) == 5)
        #expect(WheelGeometry.slot(for: deadline, level: 2) == 7)
        #expect(WheelGeometry.slotWidth(level: 2) == 4096)
        #expect(WheelGeometry.range == 1 << 36)
    }

    @Test func nextOccupiedRotatesFromTheCurrentSlot() {
        let a = WheelGeometry.nextOccupied(bitmap: 1 << 5, level: 0, elapsed: 3)
        #expect(a?.slot == 5 && a?.start == 5)
        // A slot behind the current one is the next turn of the level.
        let b = WheelGeometry.nextOccupied(bitmap: 1 << 1, level: 0, elapsed: 3)
        #expect(b?.slot == 1 && b?.start == 65)
        let c = WheelGeometry.nextOccupied(bitmap: 1 << 2 | 1 << 9, level: 1, elapsed: 64 * 3 + 10)
        #expect(c?.slot == 9 && c?.start == 64 * 9)
        #expect(WheelGeometry.nextOccupied(bitmap: 0, level: 0, elapsed: 0) == nil)
    }
}

@Suite struct TimerWheelTests {
    func advance(_ wheel: inout TimerWheel, to now: UInt64) -> [TimerEntry] {
        var due: [TimerEntry] = []
        wheel.advance(to: now, into: &due)
        return due
    }

    @Test func firesAtTheExactTickInDeadlineOrder() {
        var wheel = TimerWheel()
        for (id, deadline) in [(1, 300), (2, 5), (3, 64), (4, 300), (5, 4_100)] as [(UInt64, UInt64)] {
            wheel.insert(id: id, deadline: deadline)
        }
        #expect(wheel.nextDeadline() == 5)
        #expect(advance(&wheel, to: 4).isEmpty)
        #expect(advance(&wheel, to: 5).map(\.id) == [2])
        #expect(advance(&wheel, to: 299).map(\.id) == [3])
        #expect(advance(&wheel, to: 300).map(\.id) == [1, 4])
        #expect(wheel.count == 1)
        #expect(advance(&wheel, to: 4_099).isEmpty)
        let last = advance(&wheel, to: 10_000)
        #expect(last.map(\.id) == [5] && last.first?.deadline == 4_100)
        #expect(wheel.isEmpty && wheel.nextDeadline() == nil && wheel.elapsed == 10_000)
    }

    @Test func cancelIsImmediateAndStaleHandlesAreIgnored() {
        var wheel = TimerWheel()
        let a = wheel.insert(id: 1, deadline: 100)
        let b = wheel.insert(id: 2, deadline: 100)
        let first = wheel.cancel(a)
        let second = wheel.cancel(a)
        #expect(first && !second)
        #expect(wheel.deadline(of: a) == nil && wheel.deadline(of: b) == 100)
        let fired = advance(&wheel, to: 100)
        #expect(fired.map(\.id) == [2])
        let firedHandle = wheel.cancel(b)
        #expect(!firedHandle)
        // The freed node is reused; the old handle must not cancel the new entry.
        let c = wheel.insert(id: 3, deadline: 200)
        let stale = wheel.cancel(a) || wheel.cancel(b)
        #expect(!stale)
        #expect(wheel.deadline(of: c) == 200)
        let live = wheel.cancel(c)
        #expect(live && wheel.isEmpty && wheel.nextDeadline() == nil)
    }

    @Test func farFutureEntriesBeyondTheTopLevel() {
        var wheel = TimerWheel(start: 17)
        let far: UInt64 = (1 << 40) + 12_345
        let beyond: UInt64 = WheelGeometry.range + 5
        wheel.insert(id: 1, deadline: far)
        wheel.insert(id: 2, deadline: beyond)
        wheel.insert(id: 3, deadline: .max - 1)
        let cancelled = wheel.insert(id: 4, deadline: (1 << 50))
        wheel.cancel(cancelled)
        wheel.insert(id: 5, deadline: 1_000)
        #expect(wheel.nextDeadline() != nil)
        #expect(advance(&wheel, to: 1_000).map(\.id) == [5])
        #expect(advance(&wheel, to: beyond - 1).isEmpty)
        #expect(advance(&wheel, to: beyond).map(\.id) == [2])
        #expect(advance(&wheel, to: far - 1).isEmpty)
        let next = wheel.nextDeadline()
        #expect(next != nil && next! <= far)
        #expect(advance(&wheel, to: far).map(\.id) == [1])
        #expect(advance(&wheel, to: 1 << 60).isEmpty)
        #expect(advance(&wheel, to: .max - 1).map(\.id) == [3])
        #expect(wheel.isEmpty)
    }

    @Test func manyEntriesAtOneInstantFireTogetherInInsertionOrder() {
        var wheel = TimerWheel()
        for id in 0..<10_000 as Range<UInt64> { wheel.insert(id: id, deadline: 123_456) }
        #expect(advance(&wheel, to: 123_455).isEmpty)
        let fired = advance(&wheel, to: 123_456)
        #expect(fired.count == 10_000)
        #expect(fired.map(\.id) == Array(0..<10_000))
        #expect(wheel.isEmpty)
    }

    @Test func pastDeadlinesFireOnTheNextAdvance() {
        var wheel = TimerWheel(start: 500)
        wheel.insert(id: 1, deadline: 10)
        #expect(wheel.nextDeadline() == 500)
        let fired = advance(&wheel, to: 500)
        #expect(fired.map(\.id) == [1] && fired.first?.deadline == 10)
    }

    /// A schedule's shape: entries re-inserted in firing order one cadence later land on
    /// level 1 in deadline order; entering their 64-tick window drains that list in place
    /// (nothing moved to level 0), tick by tick, with inserts, cancels and late arrivals mixed in.
    @Test func aLevelOneSlotInDeadlineOrderDrainsInPlace() throws {
        var wheel = TimerWheel(start: 0)
        var handles: [UInt64: TimerHandle] = [:]
        for id in 0..<640 as Range<UInt64> { handles[id] = wheel.insert(id: id, deadline: 64 + id / 10) } // ticks 64...127
        #expect(wheel.heads[TimerWheel.lateLists + 1] < 0 && wheel.occupied[0] == 0)
        #expect(advance(&wheel, to: 63).isEmpty)
        #expect(wheel.nextDeadline() == 64)
        #expect(advance(&wheel, to: 64).map(\.id) == Array(0..<10))
        #expect(wheel.draining == 64 + 1 && wheel.occupied[0] == 0 && wheel.occupied[1] == 0) // not cascaded
        #expect(wheel.nextDeadline() == 65)
        // An insert at a tick the draining list also holds fires after it (it came later).
        wheel.insert(id: 10_000, deadline: 66)
        #expect(wheel.cancel(try #require(handles[25])))
        #expect(advance(&wheel, to: 66).map(\.id) == Array(10..<25) + Array(26..<30) + [10_000])
        // A jump past several ticks fires them in deadline order; then the window empties.
        #expect(advance(&wheel, to: 100).map(\.id) == Array(30..<370))
        #expect(advance(&wheel, to: 127).map(\.id) == Array(370..<640))
        #expect(wheel.isEmpty && wheel.drainingHead == nil)
    }

    /// An entry placed earlier than its level-1 list's tail (a target a refresh added, at its
    /// own phase) waits in the slot's late list: the list still drains in place, only the late
    /// entries move to level 0, and each tick fires in insertion order.
    @Test func anEntryOutOfOrderWaitsInTheLateListAndTheSlotStillDrains() throws {
        var wheel = TimerWheel(start: 0)
        wheel.insert(id: 1, deadline: 70)
        wheel.insert(id: 2, deadline: 100)
        let late = wheel.insert(id: 3, deadline: 70) // earlier than the tail (100)
        wheel.insert(id: 4, deadline: 90)             // earlier too
        wheel.insert(id: 5, deadline: 120)            // in order again: the list
        #expect(wheel.heads[TimerWheel.lateLists + 1] == late.index)
        #expect(advance(&wheel, to: 64).isEmpty)
        #expect(wheel.draining == 64 + 1 && wheel.occupied[1] == 0) // drained in place
        #expect(wheel.heads[TimerWheel.lateLists + 1] < 0 && wheel.occupied[0] != 0) // late ones on level 0
        #expect(advance(&wheel, to: 70).map(\.id) == [1, 3])
        #expect(advance(&wheel, to: 100).map(\.id) == [4, 2])
        #expect(advance(&wheel, to: 127).map(\.id) == [5])
        #expect(wheel.isEmpty && wheel.occupied.allSatisfy { $0 == 0 })
    }

    /// A cancelled late entry leaves the slot's bit set while the list holds entries, and the
    /// last cancel of the two lists clears it.
    @Test func theSlotBitCoversBothLists() throws {
        var wheel = TimerWheel(start: 0)
        let a = wheel.insert(id: 1, deadline: 100)
        let b = wheel.insert(id: 2, deadline: 70) // late
        let first = wheel.cancel(a)
        #expect(first && wheel.occupied[1] == 1 << 1)
        #expect(wheel.nextDeadline() == 64)
        let second = wheel.cancel(b)
        #expect(second && wheel.occupied[1] == 0 && wheel.nextDeadline() == nil)
    }
}

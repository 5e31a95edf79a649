import TestSupport
import Testing
@testable import ProbeAgentCore

/// The wheel against a reference scheduler (a plain array, scanned) over random schedules.
@Suite struct TimerWheelPropertyTests {
    struct Reference {
        var live: [(id: UInt64, deadline: UInt64, handle: TimerHandle)] = []
        mutating func advance(to now: UInt64) -> [UInt64] {
            let due = live.filter { $0.deadline <= now }.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
            live.removeAll { $0.deadline <= now }
            return due.map(\.id)
        }

        /// Cancels a random live entry in both.
        mutating func cancelOne(in wheel: inout TimerWheel, using rng: inout SeededRandom) {
            let victim = Int.random(in: 0..<live.count, using: &rng)
            let cancelled = wheel.cancel(live[victim].handle)
            #expect(cancelled)
            live.remove(at: victim)
        }

        /// The wheel's next deadline never passes the earliest live one, nor lies before now.
        func checkNextDeadline(of wheel: TimerWheel, now: UInt64) {
            guard let next = wheel.nextDeadline(), let earliest = live.map(\.deadline).min() else { return }
            #expect(next <= max(earliest, now), "nextDeadline overshoots")
            #expect(next >= now)
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func matchesReference(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var wheel = TimerWheel(start: UInt64.random(in: 0..<1_000_000, using: &rng))
        var reference = Reference()
        var now = wheel.elapsed
        var nextID: UInt64 = 0
        // Spans from "this tick" to "beyond the top level", so every level and the overflow
        // list are exercised, including cascades.
        let spans: [UInt64] = [1, 64, 4_096, 1 << 18, 1 << 24, 1 << 30, 1 << 37]
        for _ in 0..<2_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                let span = spans.randomElement(using: &rng)!
                let base = Bool.random(using: &rng) || now < 10 ? now : now - UInt64.random(in: 0..<10, using: &rng)
                let deadline = base + UInt64.random(in: 0..<span, using: &rng)
                let handle = wheel.insert(id: nextID, deadline: deadline)
                reference.live.append((nextID, deadline, handle))
                nextID += 1
            case 5..<7 where !reference.live.isEmpty:
                reference.cancelOne(in: &wheel, using: &rng)
            default:
                reference.checkNextDeadline(of: wheel, now: now)
                let step = [UInt64(1), 50, 5_000, 1 << 20, 1 << 31, 1 << 36].randomElement(using: &rng)!
                now += UInt64.random(in: 0...step, using: &rng)
                var due: [TimerEntry] = []
                wheel.advance(to: now, into: &due)
                let expected = reference.advance(to: now)
                #expect(due.map(\.id).sorted() == expected.sorted())
                // Fired order is deadline order, except entries inserted already late.
                let deadlines = due.map { max($0.deadline, 0) }
                #expect(zip(deadlines, deadlines.dropFirst()).allSatisfy { a, b in a <= b || b < now })
            }
            #expect(wheel.count == reference.live.count)
        }
        var due: [TimerEntry] = []
        wheel.advance(to: .max, into: &due)
        #expect(due.map(\.id).sorted() == reference.advance(to: .max).sorted())
        #expect(wheel.isEmpty)
    }

    /// A schedule's pattern, which keeps level-1 lists in deadline order so they drain in
    /// place: every fired entry comes back one cadence after its deadline; cancels, stray
    /// inserts (out of order, late, far) and clock jumps mixed in.
    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func matchesReferenceOnAScheduleShapedLoad(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var wheel = TimerWheel(start: UInt64.random(in: 0..<100_000, using: &rng))
        var reference = Reference()
        var now = wheel.elapsed
        var cadence: [UInt64: UInt64] = [:]
        var nextID: UInt64 = 0
        var drained = 0
        func add(_ deadline: UInt64, every: UInt64) {
            let handle = wheel.insert(id: nextID, deadline: deadline)
            reference.live.append((nextID, deadline, handle))
            cadence[nextID] = every
            nextID += 1
        }
        for _ in 0..<500 { add(now + UInt64.random(in: 0..<300, using: &rng), every: [300, 300, 300, 100, 6_000].randomElement(using: &rng)!) }
        for _ in 0..<1_500 {
            switch Int.random(in: 0..<20, using: &rng) {
            case 0:
                add(now + UInt64.random(in: 0..<5_000, using: &rng), every: 300)
            case 1 where !reference.live.isEmpty:
                reference.cancelOne(in: &wheel, using: &rng)
            default:
                reference.checkNextDeadline(of: wheel, now: now)
                now += Int.random(in: 0..<10, using: &rng) == 0 ? UInt64.random(in: 0..<400, using: &rng) : UInt64.random(in: 0...3, using: &rng)
                var due: [TimerEntry] = []
                wheel.advance(to: now, into: &due)
                let expected = reference.advance(to: now)
                #expect(due.map(\.id).sorted() == expected.sorted())
                if wheel.draining >= 0 { drained += 1 }
                let deadlines = due.map(\.deadline)
                #expect(zip(deadlines, deadlines.dropFirst()).allSatisfy { $0 <= $1 }, "fired out of deadline order")
                for e in due { // the next grid point after now, as the schedule does: never late
                    let every = cadence[e.id]!
                    var next = e.deadline + every
                    if next <= now { next += ((now - next) / every + 1) * every }
                    let handle = wheel.insert(id: e.id, deadline: next)
                    reference.live.append((e.id, next, handle))
                }
            }
            #expect(wheel.count == reference.live.count)
        }
        #expect(drained > 100, "the draining path was exercised \(drained) times")
        var due: [TimerEntry] = []
        wheel.advance(to: .max, into: &due)
        #expect(due.map(\.id).sorted() == reference.advance(to: .max).sorted())
        #expect(wheel.isEmpty)
    }
}

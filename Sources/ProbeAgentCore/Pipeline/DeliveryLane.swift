/// Results on their way through the delivery window, with the chunks (log appends) they came
/// in: as runs, since a lane takes its results in chunk order. A run per chunk instead of a
/// chunk id per result: acknowledging a request is O(chunks in it), and a result is carried as
/// itself, never wrapped (the wrapper's copies cost ~0.3 µs a probe at 100k targets).
struct DeliveryBatch: Sendable {
    struct Run: Sendable, Equatable {
        let chunk: UInt64
        var count: Int
    }

    var records: [ResultRecord] = []
    var runs: [Run] = []

    var count: Int { records.count }

    /// The first `n` results and the rest.
    func split(at n: Int) -> (DeliveryBatch, DeliveryBatch) {
        var head = DeliveryBatch(records: Array(records[..<n])), tail = DeliveryBatch(records: Array(records[n...]))
        var left = n
        for run in runs {
            let taken = min(left, run.count)
            if taken > 0 { head.runs.append(Run(chunk: run.chunk, count: taken)) }
            if run.count > taken { tail.runs.append(Run(chunk: run.chunk, count: run.count - taken)) }
            left -= taken
        }
        return (head, tail)
    }

    /// Batches of at most `size` results, in order.
    func split(into size: Int) -> [DeliveryBatch] {
        var out: [DeliveryBatch] = [], rest = self
        while rest.count > size {
            let (head, tail) = rest.split(at: size)
            out.append(head)
            rest = tail
        }
        out.append(rest)
        return out
    }
}

/// One lane of the window: the results of its series in order, and at most one request on its
/// way (so a series is never in two requests at once).
struct DeliveryLane: Sendable {
    var records = Queue<ResultRecord>()
    /// The chunk runs of `records`, in order.
    var runs = Queue<DeliveryBatch.Run>()
    /// Batches to send again before the queue, in order (a failed request, or the halves of
    /// one split to isolate a too-old sample or after a 413).
    var retry: [DeliveryBatch] = []
    var inFlight: UInt64?

    mutating func push(_ r: ResultRecord, chunk: UInt64) {
        records.push(r)
        if let last = runs.last, last.chunk == chunk {
            runs[runs.count - 1].count += 1
        } else {
            runs.push(DeliveryBatch.Run(chunk: chunk, count: 1))
        }
    }

    /// Up to `max` queued results, oldest first.
    mutating func pop(max: Int) -> DeliveryBatch {
        var batch = DeliveryBatch(records: records.pop(max: max))
        var left = batch.count
        while left > 0, var run = runs.popFirst() {
            let taken = min(left, run.count)
            batch.runs.append(DeliveryBatch.Run(chunk: run.chunk, count: taken))
            left -= taken
            if run.count > taken {
                run.count -= taken
                runs.pushFront(run)
            }
        }
        return batch
    }

    /// Everything queued or to retry, oldest first; the lane is left empty of it.
    mutating func drain() -> DeliveryBatch {
        var all = DeliveryBatch()
        for b in retry {
            all.records += b.records
            all.runs += b.runs
        }
        retry = []
        let queued = pop(max: records.count)
        all.records += queued.records
        all.runs += queued.runs
        return all
    }
}

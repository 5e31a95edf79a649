// Value types of the spill log's public API: options, what goes in (SpillEntry), what comes
// out (SpillRecord, SpillPosition) and the counters (SpillStats). No I/O here.

import Foundation

/// When appended bytes are forced to stable storage.
public enum FsyncPolicy: Sendable, Equatable {
    /// fsync after every `append` batch (and the directory after a segment is created).
    case always
    /// fsync from ``SpillLog/maintain(now:)`` when this much time has passed since the last
    /// one; a crash loses at most the interval's appends.
    case interval(Duration)
    /// Never fsync; the kernel writes back when it likes (tests, benchmarks, throwaway data).
    case never
}

/// Tunables of a spill log.
public struct SpillOptions: Sendable, Equatable {
    /// A new segment starts when the next record would make the current one larger than this.
    public var segmentBytes: Int = 8 << 20
    /// Byte cap over all segments; appending past it drops the oldest segments.
    public var maxBytes: Int = 1 << 30
    /// Segments whose newest record is older than this are dropped by `maintain(now:)`.
    public var maxAge: Duration? = nil
    public var fsync: FsyncPolicy = .interval(.seconds(1))

    public init(segmentBytes: Int = 8 << 20, maxBytes: Int = 1 << 30, maxAge: Duration? = nil,
                fsync: FsyncPolicy = .interval(.seconds(1))) {
        self.segmentBytes = segmentBytes
        self.maxBytes = maxBytes
        self.maxAge = maxAge
        self.fsync = fsync
    }
}

/// One record to append: an opaque payload and the time it describes.
public struct SpillEntry: Sendable, Equatable {
    public var payload: Data
    /// Nanoseconds since the Unix epoch (the probe result's time); drives the age cap and
    /// the oldest-pending age.
    public var timestampNanos: Int64
    /// Items the record stands for (a batch of results is one record): what the pending and
    /// dropped counts count. Read back through the log's `weigh` function.
    public var weight: Int

    public init(payload: Data, timestampNanos: Int64, weight: Int = 1) {
        self.payload = payload
        self.timestampNanos = timestampNanos
        self.weight = weight
    }
}

/// A place in the log: the byte offset in one segment just after a record. Returned with each
/// record by `read(max:)` and handed back to `commit(through:)`.
public struct SpillPosition: Hashable, Sendable, CustomStringConvertible {
    public let segment: UInt64
    public let offset: Int
    /// Weight of the valid records of `segment` before `offset` (for the pending count; not
    /// persisted).
    let ordinal: Int

    init(segment: UInt64, offset: Int, ordinal: Int) {
        self.segment = segment
        self.offset = offset
        self.ordinal = ordinal
    }

    public var description: String { "\(Segment.fileName(segment))@\(offset)" }

    /// Orders positions in log order.
    func isBefore(_ other: SpillPosition) -> Bool {
        (segment, offset) < (other.segment, other.offset)
    }
}

/// A record read back from the log.
public struct SpillRecord: Sendable, Equatable {
    public let payload: Data
    public let timestampNanos: Int64
    /// The position just after this record: commit it once the record is delivered.
    public let position: SpillPosition
}

/// Counters and gauges of a spill log. Counters count since this process opened the log.
public struct SpillStats: Sendable, Equatable {
    /// Sum of the segment sizes (the read position files are not counted).
    public var bytesOnDisk = 0
    public var segments = 0
    /// Records not yet committed by the reader furthest behind (read-but-uncommitted ones
    /// included: they come back after a restart); `readers` has each reader's.
    public var pendingRecords = 0
    /// Timestamp of the oldest record some reader has not committed, nil when none.
    public var oldestPendingTimestampNanos: Int64?
    /// Records dropped by the byte cap or the age cap that some reader had not committed
    /// (per dropped segment, the most any reader lost); `readers` has each reader's count.
    public var droppedRecords = 0
    public var droppedSegments = 0
    /// Ranges of bytes that were not valid records, found in the middle of a segment (or at the
    /// end of a segment that is not the last), and skipped; and their bytes.
    public var corruptRecords = 0
    public var corruptBytes = 0
    /// Bytes of partial records cut from the end of the last segment at open.
    public var tornTailBytes = 0
    /// Each reader's pending records, oldest pending timestamp and drops, in reader order.
    public var readers: [ReaderStats] = []

    /// Age of the oldest pending record at `nowNanos`. The timestamp is read from disk and may
    /// be anything: the difference is taken in Duration's 128-bit range, which holds any two
    /// Int64 nanosecond values (in Int64 a far-future or far-past record overflowed and trapped).
    public func oldestPendingAge(nowNanos: Int64) -> Duration? {
        oldestPendingTimestampNanos.map { .nanoseconds(nowNanos) - .nanoseconds($0) }
    }
}

/// Decides when a file that changed on disk may be read: once it has stopped changing.
///
/// A writer that rewrites a file in place (an editor saving without a rename, `cat > file`, a
/// template tool streaming its output) leaves it half-written for a while, and a poll landing in
/// that while would read half a config. So a change is only acted on once the file's stamp
/// (whatever identifies a version: inode, size, mtime) has been seen unchanged for
/// ``quietNanoseconds``: the poll that first sees a new stamp starts the wait, a different stamp
/// restarts it, and the first poll at least that long after with the same stamp says `true`.
/// A writer that pauses for longer than that mid-file can still be caught; the reader of a
/// half file then refuses it (it does not parse) and the complete file is read once it
/// settles. A rename into place is atomic and needs none of this.
///
/// The caller polls and passes CLOCK_MONOTONIC nanoseconds in; `Stamp` is typically optional
/// (nil: the file is missing, itself a change once it has lasted).
public struct SettledFileChange<Stamp: Equatable & Sendable>: Sendable {
    /// How long a new stamp must stay the same before it counts.
    public let quietNanoseconds: UInt64
    /// The stamp of the version last read.
    public private(set) var read: Stamp
    /// A stamp that differs from `read`, and since when it has been seen.
    private var candidate: (stamp: Stamp, since: UInt64)?

    /// - Parameters:
    ///   - read: The stamp of the version already read (at start).
    ///   - quietNanoseconds: How long a change must last unchanged before it is read.
    public init(read: Stamp, quietNanoseconds: UInt64) {
        self.read = read
        self.quietNanoseconds = quietNanoseconds
    }

    /// One poll: whether to read the file now. After `true`, the caller reads it and reports
    /// that with ``didRead(_:)``.
    ///
    /// - Parameters:
    ///   - stamp: The file's stamp now.
    ///   - now: CLOCK_MONOTONIC nanoseconds.
    public mutating func poll(_ stamp: Stamp, now: UInt64) -> Bool {
        if stamp == read {
            candidate = nil // changed and changed back: nothing to read
            return false
        }
        guard let seen = candidate, seen.stamp == stamp else {
            candidate = (stamp, now)
            return false
        }
        return now >= seen.since && now - seen.since >= quietNanoseconds
    }

    /// Records that the file was read (after `poll` said so, or on request: SIGHUP, the admin
    /// API), with the stamp taken before reading it.
    public mutating func didRead(_ stamp: Stamp) {
        read = stamp
        candidate = nil
    }
}

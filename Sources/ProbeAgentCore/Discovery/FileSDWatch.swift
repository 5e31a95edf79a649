/// Which files of one `file_sd_configs` entry to read on a poll, from their stamps.
///
/// On the first poll every matched file is read at once. After that a file replaced by a rename
/// (a new inode: written whole elsewhere) is read at once; any other change once it has held
/// still for `quietNanoseconds` (``SettledFileChange``): a file written in place once the
/// writer has paused (as is a new file, which may still be being written); a file
/// caught half-written does not parse, keeps the last good list, and is read again when it
/// settles complete. A due `refresh_interval` reads every file whatever its stamp. Files no
/// longer matched are reported as vanished (their targets go).
public struct FileSDWatch: Sendable {
    public typealias Stamp = CredentialFile.Stamp
    public let quietNanoseconds: UInt64
    private var files: [String: SettledFileChange<Stamp?>] = [:]
    private var polled = false

    public init(quietNanoseconds: UInt64 = 1_000_000_000) { self.quietNanoseconds = quietNanoseconds }

    /// - Parameters:
    ///   - listing: every file the entry's globs match now, with its stamp.
    ///   - full: the refresh interval is due: read every file.
    ///   - now: CLOCK_MONOTONIC nanoseconds.
    /// - Returns: the files to read now, sorted (report each with ``didRead(_:stamp:)``), and
    ///   the files that no longer match.
    public mutating func poll(_ listing: [String: Stamp?], full: Bool, now: UInt64) -> (read: [String], vanished: [String]) {
        let vanished = files.keys.filter { listing[$0] == nil }.sorted()
        for path in vanished { files[path] = nil }
        var read: [String] = []
        for (path, stamp) in listing {
            var watch = files[path] ?? SettledFileChange(read: nil, quietNanoseconds: quietNanoseconds)
            if !polled || full || Self.renamedInPlace(was: watch.read, now: stamp) || watch.poll(stamp, now: now) { read.append(path) }
            files[path] = watch
        }
        polled = true
        return (read.sorted(), vanished)
    }

    /// A known file replaced by a rename (a new inode at the same path): complete, read at once.
    static func renamedInPlace(was: Stamp?, now: Stamp?) -> Bool {
        guard let was, let now else { return false }
        return was.inode != now.inode || was.device != now.device
    }

    /// The file was read; `stamp` was taken before reading it.
    public mutating func didRead(_ path: String, stamp: Stamp?) { files[path]?.didRead(stamp) }
}

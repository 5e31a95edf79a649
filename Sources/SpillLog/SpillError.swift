// Errors the spill log throws. Every failing system call is turned into one of these by
// `Sys` (Sys.swift), named by the operation and the path it was working on, so a message
// in the agent's log says which file on which disk refused what.

#if canImport(Glibc)
import Glibc
#endif

/// A spill log failure. Disk conditions the operator can act on have their own cases.
public enum SpillError: Error, Equatable, CustomStringConvertible {
    /// The filesystem is out of space or quota (ENOSPC, EDQUOT). Appends may succeed again later.
    case diskFull(path: String)
    /// The filesystem is mounted read-only (EROFS).
    case readOnly(path: String)
    /// The device reported an I/O error (EIO); the disk or filesystem is failing.
    case ioFailure(path: String, operation: String)
    /// Any other failing system call, with its errno.
    case system(path: String, operation: String, errno: Int32)
    /// A payload larger than the 1 MiB record limit; nothing was written.
    case recordTooLarge(size: Int, limit: Int)
    /// The log was used after ``SpillLog/close()``.
    case closed
    /// Another owner holds the directory's lock (SpillDirectoryLock.swift): another agent, or
    /// another spill log in this process. `holderPID` is what the lock file says, if anything.
    case locked(directory: String, holderPID: Int32?)
    /// The next segment would need an id above ``Segment/maxID``, which no later open would
    /// read back: a segment named with the highest id (not one this log numbered) is there.
    case segmentIDsExhausted(directory: String)

    /// Maps `errno` from `operation` on `path` to an error.
    static func from(errno code: Int32, operation: String, path: String) -> SpillError {
        switch code {
        case ENOSPC, EDQUOT: return .diskFull(path: path)
        case EROFS: return .readOnly(path: path)
        case EIO: return .ioFailure(path: path, operation: operation)
        default: return .system(path: path, operation: operation, errno: code)
        }
    }

    public var description: String {
        switch self {
        case .diskFull(let path):
            return "spill log: disk full (no space or quota left) writing \(path)"
        case .readOnly(let path):
            return "spill log: read-only filesystem, cannot write \(path)"
        case .ioFailure(let path, let operation):
            return "spill log: I/O error (EIO) in \(operation) on \(path); the disk may be failing"
        case .system(let path, let operation, let code):
            return "spill log: \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .recordTooLarge(let size, let limit):
            return "spill log: record of \(size) bytes exceeds the \(limit)-byte limit"
        case .closed:
            return "spill log: used after close()"
        case .segmentIDsExhausted(let directory):
            return "spill log: no segment id left in \(directory) (a segment is named \(Segment.fileName(Segment.maxID))); move the segments away to start numbering again"
        case .locked(let directory, let pid):
            let file = directory + "/" + SpillDirectoryLock.fileName
            guard let pid else {
                return "spill.dir \(directory) is in use by another process (it holds the lock on \(file), which names no pid); each agent needs its own spill directory"
            }
            if pid == getpid() {
                return "spill.dir \(directory) is already in use in this process (pid \(pid) holds the lock on \(file)); each spill log needs its own directory"
            }
            return "spill.dir \(directory) is in use by another probe-agent (pid \(pid) holds the lock on \(file)); each agent needs its own spill directory"
        }
    }
}

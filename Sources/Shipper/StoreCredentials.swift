import Foundation
import Logging
import ProbeAgentCore

/// How requests to the store authenticate: inline, or from a file re-read when it changes
/// (`bearer_token_file`, `basic_auth.password_file`, the Prometheus way).
public enum StoreAuthorization: Sendable, Hashable {
    case none
    case bearer(String)
    case bearerFile(String)
    case basic(username: String, password: String)
    case basicFile(username: String, passwordFile: String)

    /// The way a validated `remote_write` section asks for.
    public init(_ rw: RemoteWriteConfig) {
        if let b = rw.basicAuth {
            self = b.passwordFile.map { .basicFile(username: b.username, passwordFile: $0) }
                ?? .basic(username: b.username, password: b.password)
        } else if let token = rw.bearerToken {
            self = .bearer(token)
        } else if let file = rw.bearerTokenFile {
            self = .bearerFile(file)
        } else {
            self = .none
        }
    }

    /// The file holding the secret, with its config key, when there is one.
    var file: (path: String, key: String)? {
        switch self {
        case .bearerFile(let p): (p, "remote_write.bearer_token_file")
        case .basicFile(_, let p): (p, "remote_write.basic_auth.password_file")
        default: nil
        }
    }

    /// The Authorization header value for a secret (inline or read from the file).
    func header(secret: String) -> String? {
        switch self {
        case .none: nil
        case .bearer, .bearerFile: "Bearer \(secret)"
        case .basic(let user, _), .basicFile(let user, _):
            "Basic " + Data("\(user):\(secret)".utf8).base64EncodedString()
        }
    }
}

extension StoreAuthorization: CustomStringConvertible, CustomReflectable {
    /// Never the secret: "bearer token from /etc/probe-agent/token", "basic auth (probe, <secret>)".
    public var description: String {
        switch self {
        case .none: "none"
        case .bearer: "bearer token \(RemoteWriteConfig.redacted)"
        case .bearerFile(let p): "bearer token from \(p)"
        case .basic(let u, _): "basic auth (\(u), \(RemoteWriteConfig.redacted))"
        case .basicFile(let u, let p): "basic auth (\(u), password from \(p))"
        }
    }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

/// The Authorization header for the next request, kept current with its file.
///
/// The file is read at start (a problem there stops the agent with the file's name), then looked
/// at (stat: device, inode, size, mtime) at most once a second before a send, and at once after a
/// 401 or 403, and read again when it changed. A file that cannot be read, or is empty (caught
/// mid-rotation), keeps the last good secret; the problem is logged once per change of the file.
/// Neither the secret nor the file's contents are ever logged.
///
/// Thread-safety: `header(nowNanos:)` runs on the shipper thread, `answered(status:)` on event
/// loop threads; the state is behind a lock (held for a stat, and a small read on change).
final class StoreCredentials: @unchecked Sendable {
    private let source: StoreAuthorization
    private let log: Logger
    private let lock = NSLock()
    private var current: String?
    private var stamp: CredentialFile.Stamp?
    private var checkedAtNanos: UInt64 = 0
    private var recheckNow = false
    /// The stamp whose problem was logged already (nil stamp: the file was missing).
    private var reportedProblem: CredentialFile.Stamp??

    /// How often the file is looked at, at most.
    static let checkInterval: UInt64 = 1_000_000_000

    struct FileError: Error, CustomStringConvertible {
        let description: String
    }

    init(_ source: StoreAuthorization, log: Logger) throws {
        self.source = source
        self.log = log
        switch source {
        case .none: current = nil
        case .bearer(let token): current = source.header(secret: token)
        case .basic(_, let password): current = source.header(secret: password)
        case .bearerFile, .basicFile:
            let (path, key) = source.file!
            stamp = CredentialFile.stamp(path)
            switch CredentialFile.read(path) {
            case .success(let secret) where !secret.isEmpty: current = source.header(secret: secret)
            case .success: throw FileError(description: "\(key) \(path) is empty")
            case .failure(let e): throw FileError(description: "\(key) \(path): \(e.reason)")
            }
        }
    }

    /// The Authorization header value for a request sent now (nil: none configured).
    func header(nowNanos: UInt64) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if let (path, key) = source.file, recheckNow || nowNanos &- checkedAtNanos >= Self.checkInterval {
            let forced = recheckNow
            recheckNow = false
            checkedAtNanos = nowNanos
            refresh(path: path, key: key, forced: forced)
        }
        return current
    }

    /// Tells the credentials how the store answered: a 401 or 403 has the file looked at
    /// before the next request.
    func answered(status: Int?) {
        guard status == 401 || status == 403, source.file != nil else { return }
        lock.lock()
        recheckNow = true
        lock.unlock()
    }

    /// Re-reads the file when its stamp changed (or after a refusal). Lock held.
    private func refresh(path: String, key: String, forced: Bool) {
        let now = CredentialFile.stamp(path)
        guard forced || now != stamp || now == nil else { return }
        switch CredentialFile.read(path) {
        case .success(let secret) where !secret.isEmpty:
            let header = source.header(secret: secret)
            if header != current { log.notice("\(key) \(path) changed: using the new credential") }
            current = header
            stamp = now
            reportedProblem = nil
        case .success:
            report(now, "\(key) \(path) is empty; keeping the last good credential")
        case .failure(let e):
            report(now, "\(key) \(path): \(e.reason); keeping the last good credential")
        }
    }

    private func report(_ at: CredentialFile.Stamp?, _ message: String) {
        if let seen = reportedProblem, seen == at { return }
        reportedProblem = .some(at)
        log.error("\(message)")
    }
}

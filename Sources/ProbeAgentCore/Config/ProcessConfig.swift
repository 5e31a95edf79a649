import Yams

/// Who the agent runs as (`process:`), read at start only.
///
/// Started by root outside systemd, the agent opens its raw sockets as root and then becomes
/// `user` (and `group`) for good; it refuses to stay root unless told to (`run_as_root: true`).
/// Under systemd the unit's `User=` already did this and the section changes nothing. A reload
/// never applies this section: giving up root is one-way.
public struct ProcessConfig: Sendable, Hashable {
    /// The user to become after start-up, as a name or a numeric uid.
    public var user: String?
    /// The group to become; nil: the user's primary group. A name or a numeric gid.
    public var group: String?
    /// Stay uid 0 (with every capability dropped) when started as root.
    public var runAsRoot = false

    /// Creates the defaults: no user, no group, not staying root.
    public init(user: String? = nil, group: String? = nil, runAsRoot: Bool = false) {
        self.user = user
        self.group = group
        self.runAsRoot = runAsRoot
    }

    static let keys = ["user", "group", "run_as_root"]

    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        guard let f = reader.fields(node, in: "process", known: Self.keys) else { return }
        user = f["user"].flatMap { Self.accountName($0, "process.user", &reader) }
        group = f["group"].flatMap { Self.accountName($0, "process.group", &reader) }
        if let n = f["run_as_root"], let value = reader.bool(n, "process.run_as_root") { runAsRoot = value }
        if runAsRoot, let n = f["user"], user != nil {
            reader.error(at: n, "process.user and process.run_as_root: true contradict each other: set only one")
        }
    }

    /// A user or group as written: non-empty, without whitespace or ':'.
    private static func accountName(_ node: Node, _ what: String, _ reader: inout NodeReader) -> String? {
        guard let text = reader.string(node, what) else { return nil }
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0 == ":" }) else {
            reader.error(at: node, "\(what) '\(text)' must be a user or group name or a numeric id")
            return nil
        }
        return text
    }
}

/// What the agent does about its user at start, decided from its uid, the config and the
/// command line.
public enum RunAsDecision: Sendable, Hashable {
    /// Not root: nothing to switch (systemd's `User=`, or started by a user). `requested` is
    /// the user the config or command line names, if any, for a notice when it differs.
    case keep(requested: String?)
    /// Root, told to stay root (`run_as_root: true` or `--run-as-root`).
    case stayRoot
    /// Root: become this user (and group; nil: the user's primary group) once sockets are open.
    case become(user: String, group: String?)
    /// Root with no user to become: refuse to start, with this message.
    case refuse(String)

    /// Decides.
    ///
    /// - Parameters:
    ///   - effectiveUID: `geteuid()` at start.
    ///   - config: The config file's `process` section.
    ///   - user: `--user`, which wins over `process.user` (and over `run_as_root`).
    ///   - group: `--group`, which wins over `process.group`.
    ///   - runAsRoot: `--run-as-root`.
    public static func decide(effectiveUID: UInt32, config: ProcessConfig, user: String?, group: String?,
                              runAsRoot: Bool) -> RunAsDecision {
        let wanted = user ?? config.user
        guard effectiveUID == 0 else { return .keep(requested: wanted) }
        if let wanted { return .become(user: wanted, group: group ?? config.group) }
        if group ?? config.group != nil {
            return .refuse("a group to switch to needs a user too: set process.user or pass --user")
        }
        if runAsRoot || config.runAsRoot { return .stayRoot }
        return .refuse("""
            started as root with no user to switch to: set process.user in the config or pass --user \
            (the agent opens its raw sockets as root, then runs as that user), or set process.run_as_root: true \
            (or pass --run-as-root) to stay uid 0 with every capability dropped
            """)
    }
}

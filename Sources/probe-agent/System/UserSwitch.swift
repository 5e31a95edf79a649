import Foundation

/// Becoming the configured user when started as root, in two steps around the engine's start.
///
/// The engine needs CAP_NET_RAW to open its raw sockets and then drops every capability, and
/// without CAP_SETUID a process may only move its uids among its current real, effective and
/// saved ones. So ``begin()``, before the engine: supplementary groups cleared and the gid set
/// for good (setgroups, setregid), and the *real* uid made the user's while the effective and
/// saved uids stay 0 (setreuid(user, 0)), which keeps the capabilities the engine needs.
/// ``finish()``, once the engine has dropped them: setreuid(user, user), allowed by that rule,
/// sets all three (setting the real uid sets the saved one to the new effective); with no uid 0
/// left the kernel clears every capability set, and nothing can go back (checked, from
/// /proc/self/status and by trying). (Glibc's module leaves out setresuid, a GNU extension.)
/// (prctl(PR_SET_KEEPCAPS) would allow one setuid before the engine, but prctl is variadic and
/// Swift cannot call it.)
///
/// Between the two steps access(2) already checks with the real ids, i.e. as the user:
/// ``accessProblems(_:)`` finds, before anything starts, the files the user could not use.
struct UserSwitch {
    struct Problem: Error, CustomStringConvertible { let description: String }

    let user: String
    let uid: uid_t
    let group: String
    let gid: gid_t

    /// Looks the user (and group) up: names or numeric ids; no group means the user's primary one.
    static func resolve(user: String, group: String?) throws(Problem) -> UserSwitch {
        let account = Account.user(user)
        guard let uid = account?.uid ?? UInt32(user) else {
            throw Problem(description: "unknown user '\(user)' (process.user / --user): no such account")
        }
        guard uid != 0 else {
            throw Problem(description: "user '\(user)' is root; use process.run_as_root: true to stay root")
        }
        let gid: gid_t
        if let group {
            guard let id = Account.groupID(group) ?? UInt32(group) else {
                throw Problem(description: "unknown group '\(group)' (process.group / --group): no such group")
            }
            gid = id
        } else {
            guard let primary = account?.gid else {
                throw Problem(description: "uid \(user) has no account to take a primary group from; set process.group or --group")
            }
            gid = primary
        }
        guard gid != 0 else { throw Problem(description: "group \(group ?? "of '\(user)'") is root's (gid 0); choose another") }
        return UserSwitch(user: account?.name ?? user, uid: uid, group: Account.groupName(gid) ?? String(gid), gid: gid)
    }

    /// As root, before ``begin()``: creates `path` and any missing parent (mode 0750) owned by
    /// the user, so it can later create files there. Directories that exist are left alone.
    func createDirectory(_ path: String) throws(Problem) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            var st = stat()
            if stat(prefix, &st) == 0 { continue }
            guard mkdir(prefix, 0o750) == 0 || errno == EEXIST else {
                throw Problem(description: "cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
            guard chown(prefix, uid, gid) == 0 else {
                throw Problem(description: "cannot hand \(prefix) to \(user): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Step one (root, before the engine): groups for good, real uid to the user.
    func begin() throws(Problem) {
        guard setgroups(0, nil) == 0, setregid(gid, gid) == 0, setreuid(uid, 0) == 0 else {
            throw Problem(description: "cannot switch to \(user):\(group): \(String(cString: strerror(errno)))")
        }
    }

    /// What the user could not use, checked between the steps: each a sentence, empty when all is well.
    func accessProblems(_ needs: [(path: String, mode: Int32, what: String)]) -> [String] {
        needs.compactMap { need in
            access(need.path, need.mode) == 0 ? nil
                : "\(need.what) \(need.path) is not \(need.mode & W_OK != 0 ? "writable" : "readable") by \(user) "
                + "(\(String(cString: strerror(errno)))); chown it to \(user):\(group) or choose another path"
        }
    }

    /// Step two (after the engine dropped every capability): every uid to the user, then checks
    /// that there is no way back to root.
    func finish() throws(Problem) {
        guard setreuid(uid, uid) == 0 else {
            throw Problem(description: "cannot switch to \(user): \(String(cString: strerror(errno)))")
        }
        let ids = Credentials.read()
        let want = Credentials(uids: [uid, uid, uid, uid], gids: [gid, gid, gid, gid], groups: [], capabilities: [0, 0, 0])
        guard ids == want else {
            throw Problem(description: "switched to \(user) but /proc/self/status shows \(ids.map { "\($0)" } ?? "nothing readable")")
        }
        guard setuid(0) != 0, seteuid(0) != 0, setgid(0) != 0, setgroups(0, nil) != 0 else {
            throw Problem(description: "switched to \(user) but could become root again; refusing to run")
        }
    }
}

/// The ids and capabilities /proc/self/status shows for the calling thread.
struct Credentials: Equatable, CustomStringConvertible {
    /// Real, effective, saved and file-system uid.
    var uids: [UInt32]
    /// The same four gids.
    var gids: [UInt32]
    /// Supplementary groups.
    var groups: [UInt32]
    /// CapPrm, CapEff, CapAmb.
    var capabilities: [UInt64]

    static func read() -> Credentials? {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8) else { return nil }
        var fields: [String: [Substring]] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace)
        }
        func ids(_ key: String) -> [UInt32] { (fields[key] ?? []).compactMap { UInt32($0) } }
        func capability(_ key: String) -> UInt64? { fields[key]?.first.flatMap { UInt64($0, radix: 16) } }
        let capabilities = ["CapPrm", "CapEff", "CapAmb"].compactMap(capability)
        return Credentials(uids: ids("Uid"), gids: ids("Gid"), groups: ids("Groups"), capabilities: capabilities)
    }

    var description: String {
        "uid \(uids.map(String.init).joined(separator: "/")) gid \(gids.map(String.init).joined(separator: "/")) "
            + "groups [\(groups.map(String.init).joined(separator: " "))] capabilities \(capabilities.map { String($0, radix: 16) })"
    }
}

/// The user and group databases (getpwnam_r and friends: NSS, so LDAP users work too).
private enum Account {
    struct User { var name: String; var uid: uid_t; var gid: gid_t }

    static func user(_ nameOrID: String) -> User? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let rc = UInt32(nameOrID).map { getpwuid_r($0, &entry, &buffer, buffer.count, &found) }
            ?? getpwnam_r(nameOrID, &entry, &buffer, buffer.count, &found)
        guard rc == 0, found != nil else { return nil }
        return User(name: String(cString: entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid)
    }

    static func groupID(_ name: String) -> gid_t? {
        var entry = group()
        var found: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return entry.gr_gid
    }

    static func groupName(_ gid: gid_t) -> String? {
        var entry = group()
        var found: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return String(cString: entry.gr_name)
    }
}

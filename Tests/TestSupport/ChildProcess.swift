import Foundation

/// A process started by a test with a clean signal mask and default signal dispositions.
///
/// posix_spawn passes on the calling thread's signal mask, and tests run on dispatch worker
/// threads that block most signals: a child spawned from there (Foundation's `Process` does
/// exactly that) never sees SIGTERM. So spawn with POSIX_SPAWN_SETSIGMASK (empty) and
/// POSIX_SPAWN_SETSIGDEF, redirect output to files, and wait by PID with a bound.
public final class ChildProcess {
    public let pid: pid_t
    private var exitStatus: Int32?

    /// - Parameters:
    ///   - argv: program (looked up in PATH) and arguments.
    ///   - output: file for stdout and stderr (created/truncated), or nil for /dev/null.
    public init(_ argv: [String], output: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, argv[0], &actions, &attr, &cArgs, environ)
        guard rc == 0 else {
            throw NSError(domain: "ChildProcess", code: Int(rc),
                          userInfo: [NSLocalizedDescriptionKey: "cannot start \(argv[0]): \(String(cString: strerror(rc)))"])
        }
        pid = child
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }

    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { exitStatus = Self.decode(status); return false }
        return r == 0
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Exit status (128+N for signal N), or nil if still running after `timeout` seconds.
    public func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(10_000) }
        return exitStatus
    }

    private static func decode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }
}

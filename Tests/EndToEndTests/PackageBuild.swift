import Foundation
import Testing

/// The release .deb, built once per test run by `scripts/package.sh` and shared by every test
/// that needs it (`PackageBuild.deb.value`).
///
/// The build is a release build with `--static-swift-stdlib` in `.build-package`: minutes when
/// cold (~10 on a busy 2-core machine), seconds when nothing changed. It runs at SCHED_IDLE
/// (`chrt --idle 0`, and `nice -n 19`): only on CPU time the rest of the suite leaves, which has
/// plenty of it (agents sleeping between cadences, the long outage tests). At `nice -n 10` a cold
/// build still took a large share of both cores while the suite's first wave ran: two full runs
/// in a row had a short test (4 s alone) run out its 2-minute limit there. It is awaited without
/// holding a thread, so the rest of the suite runs meanwhile.
/// `PROBEAGENT_DEB=/path/to.deb` uses that package instead (to iterate on the tests).
enum PackageBuild {
    struct Built: Sendable {
        let deb: String
        let version: String
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static let deb = Task { () async throws -> Built in
        let path: String
        if let given = ProcessInfo.processInfo.environment["PROBEAGENT_DEB"], !given.isEmpty {
            path = given
        } else {
            // Into .build-package/deb, replacing the last run's package.
            let script = Tools.root.appendingPathComponent("scripts/package.sh").path
            let built = try await Tools.runAwaiting(["chrt", "--idle", "0", "nice", "-n", "19", script], timeout: 45 * 60)
            guard built.status == 0, let last = built.stdout.split(separator: "\n").last else {
                throw Failure(description: "scripts/package.sh exited \(built.status):\n\(built.stderr.suffix(4000))")
            }
            path = String(last)
        }
        let version = try Tools.run(["dpkg-deb", "--field", path, "Version"])
        guard version.status == 0 else { throw Failure(description: "dpkg-deb --field \(path): \(version.stderr)") }
        return Built(deb: path, version: version.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Debian's packaging tools are there (scripts/install-deps.sh installs them).
    static var toolsInstalled: Bool {
        ["/usr/bin/dpkg-deb", "/usr/bin/dpkg-shlibdeps", "/usr/bin/help2man"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// The .deb unpacked into a temp dir (removed by the caller).
    static func unpacked(_ built: Built) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("probeagent-unpacked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let x = try Tools.run(["dpkg-deb", "--extract", built.deb, dir.path])
        guard x.status == 0 else { throw Failure(description: "dpkg-deb --extract: \(x.stderr)") }
        return dir
    }
}

extension Tools {
    /// ``run(_:timeout:)`` for commands that take minutes: on a thread of its own, so the wait
    /// holds none of the test pool's threads.
    static func runAwaiting(_ args: [String], timeout: TimeInterval) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try run(args, timeout: timeout) }) }.start()
        }
    }
}

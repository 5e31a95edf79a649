import Foundation
import TestSupport
import Testing

/// Paths of the repository and of the binaries `swift build --build-tests` produced.
enum Tools {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var agentctl: String { binary("agentctl") }
    static var probeAgent: String { binary("probe-agent") }

    /// A product of this package's build (debug first: that is what `swift test` built).
    static func binary(_ name: String) -> String {
        for config in ["debug", "release"] {
            let p = root.appendingPathComponent(".build/\(config)/\(name)").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return root.appendingPathComponent(".build/debug/\(name)").path
    }
    static var testnet: String {
        ProcessInfo.processInfo.environment["PROBEAGENT_TESTNET"]
            ?? root.appendingPathComponent("Tests/support/testnet.sh").path
    }
    static let isRoot = getuid() == 0

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a command to completion (bounded by `timeout` seconds; killed by PID after that).
    /// stdout and stderr are kept apart through two files.
    static func run(_ args: [String], timeout: TimeInterval = 60) throws -> Output {
        let dir = FileManager.default.temporaryDirectory
        let out = dir.appendingPathComponent("tools-\(UUID().uuidString).out").path
        let err = dir.appendingPathComponent("tools-\(UUID().uuidString).err").path
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        // sh splits the streams: the child writes stdout to $1 and stderr to $2.
        let child = try ChildProcess(["/bin/sh", "-c", "exec \"$@\" >\"$0\" 2>\"$OUT_ERR\"".replacingOccurrences(of: "$OUT_ERR", with: err), out] + args)
        var status = child.wait(timeout: timeout)
        if status == nil {
            child.signal(SIGKILL)
            status = child.wait(timeout: 5)
        }
        let o = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let e = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        return Output(status: status ?? -1, stdout: o, stderr: e)
    }
}

/// The `agentctl probe --json` document, as much of it as the tests read.
struct ProbeReport: Decodable {
    struct Engine: Decodable { var icmp4: String; var icmp6: String; var capabilitiesDropped: Bool; var hadCapNetRaw: Bool }
    struct Line: Decodable {
        var target: String; var status: String; var rttMs: Double?; var clock: String?
        var icmpType: Int?; var icmpCode: Int?; var reporter: String?; var mtu: Int?
    }
    struct Summary: Decodable { var target: String; var sent: Int; var received: Int }
    var engine: Engine
    var results: [Line]
    var summary: [Summary]

    static func parse(_ text: String) throws -> ProbeReport {
        try JSONDecoder().decode(ProbeReport.self, from: Data(text.utf8))
    }
}

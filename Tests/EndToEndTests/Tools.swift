import Foundation
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
    static func run(_ args: [String], timeout: TimeInterval = 60) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        // Output goes to files, so a chatty child can never stall on a full pipe.
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("agentctl-test-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("agentctl-test-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let o = (try? Data(contentsOf: outURL)) ?? Data()
        let e = (try? Data(contentsOf: errURL)) ?? Data()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }
}

/// The `agentctl probe --json` document, as much of it as the tests read.
struct ProbeReport: Decodable {
    struct Engine: Decodable { var icmp4: String; var icmp6: String; var capabilitiesDropped: Bool; var hadCapNetRaw: Bool }
    struct Line: Decodable {
        var target: String; var status: String; var rttMs: Double?; var clock: String?
        var icmpType: Int?; var icmpCode: Int?; var reporter: String?
    }
    struct Summary: Decodable { var target: String; var sent: Int; var received: Int }
    var engine: Engine
    var results: [Line]
    var summary: [Summary]

    static func parse(_ text: String) throws -> ProbeReport {
        try JSONDecoder().decode(ProbeReport.self, from: Data(text.utf8))
    }
}

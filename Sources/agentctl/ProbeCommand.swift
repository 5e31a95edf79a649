import ArgumentParser
import Foundation
import ProbeAgentCore
import ProbeEngine

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe targets now, through the same engine the agent uses.",
        discussion: """
            Sends COUNT rounds, INTERVAL apart; each round probes every target in one batch.
            Prints one line per result and a summary per target (sent, received, loss, min/avg/max RTT).
            ICMP echo by default; --tcp PORT sends a half-open SYN (needs CAP_NET_RAW),
            --connect PORT makes a full TCP connect (unprivileged).

            Exit status: 0 every target answered at least once; 1 some target never answered;
            2 a target name did not resolve; 3 the probe engine could not start.

            Examples:
              agentctl probe -c 5 127.0.0.1 ::1 localhost
              agentctl probe --tcp 22 -c 3 127.0.0.1
              agentctl probe --connect 8080 --json 127.0.0.1
              agentctl probe -q -c 10 -f targets.txt
              agentctl probe -M -b 1472 -O 184 -H 8 198.18.1.1   # DF, 1500-byte packets, DSCP EF, TTL 8
            """
    )

    @Option(name: .customLong("tcp"), help: "TCP SYN half-open probe to PORT.")
    var tcpPort: UInt16?

    @Option(name: .customLong("connect"), help: "TCP connect probe to PORT.")
    var connectPort: UInt16?

    @Option(name: .shortAndLong, help: "Rounds to send (1-100000).")
    var count: Int = 1

    @OptionGroup var timing: ProbeTimingFlags

    @Flag(name: .long, help: "Print JSON (one document) instead of text.")
    var json = false

    @Flag(name: .long, help: "Use the unprivileged ICMP socket even when raw sockets are allowed.")
    var unprivileged = false

    @Flag(name: .shortAndLong, help: "Print only the per-target summary.")
    var quiet = false

    @OptionGroup var packet: PacketOptionFlags

    @Option(name: .shortAndLong, help: "Read targets from FILE, one per line ('-' for stdin; # comments).")
    var file: String?

    @Argument(help: "IP addresses or hostnames.")
    var targets: [String] = []

    func validate() throws {
        if tcpPort != nil && connectPort != nil { throw ValidationError("choose one of --tcp and --connect") }
        if tcpPort == 0 || connectPort == 0 { throw ValidationError("port must be 1-65535") }
        if !(1...100_000).contains(count) { throw ValidationError("--count must be 1-100000") }
        if targets.isEmpty && file == nil { throw ValidationError("give at least one target, or --file") }
        try packet.check(kind: tcpPort != nil ? .tcpSyn : connectPort != nil ? .tcpConnect : .icmp)
    }

    func run() throws {
        let kind: ProbeKind = tcpPort != nil ? .tcpSyn : connectPort != nil ? .tcpConnect : .icmp
        let port = tcpPort ?? connectPort ?? 0
        var resolved: [(name: String, address: IPAddress)] = []
        var unresolved = false
        for t in try targets + targetsFromFile() {
            do { resolved.append((t, try Resolver.resolve(t, family: timing.family)[0])) } catch {
                printError("agentctl: \(error)")
                unresolved = true
            }
        }
        try packet.check(targets: resolved.map(\.address))
        var options = Engine.Options()
        options.unprivileged = unprivileged
        let engine: Engine
        do { engine = try Engine(options: options) } catch {
            printError("agentctl: \(error)")
            throw ExitCode(3)
        }
        let session = ProbeSession(
            targets: resolved, kind: kind, port: port, options: packet.options, count: count,
            intervalMs: try timing.intervalMilliseconds(),
            timeoutMs: UInt32(try timing.timeoutMilliseconds()),
            json: json, quiet: quiet)
        let allAnswered = session.run(engine)
        if unresolved { throw ExitCode(2) }
        if !allAnswered { throw ExitCode(1) }
    }
}

extension ProbeCommand {
    func targetsFromFile() throws -> [String] {
        guard let file else { return [] }
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read target file '\(file)'")
            }
            data = d
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line in
            let t = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            return t.isEmpty ? nil : t
        }
    }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// "1s", "250ms", "1.5s", "2m" → milliseconds.
func parsedDuration(_ text: String, name: String, range: ClosedRange<Int>) throws -> Int {
    let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let v = Double(text.dropLast(suffix.count)), v >= 0 {
            let ms = Int((v * scale).rounded())
            guard range.contains(ms) else {
                throw ValidationError("\(name) \(text) is out of range (\(range.lowerBound)ms-\(range.upperBound)ms)")
            }
            return ms
        }
    }
    throw ValidationError("\(name) '\(text)' is not a duration (examples: 500ms, 1s, 1.5s, 2m)")
}

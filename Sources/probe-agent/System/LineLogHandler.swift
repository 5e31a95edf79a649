import Foundation
import Logging
import ProbeAgentCore

/// swift-log handler writing one line per event to stderr, in the shape ``LogLine`` renders:
/// `<N>message k=v` for journald when running under systemd, timestamped lines otherwise.
///
/// Each line goes out in a single write(2), so lines from different threads never interleave
/// (journald's stream and pipes keep writes up to PIPE_BUF whole). The logger checks the level
/// before building a message, so events below `log_level` cost nothing here.
struct LineLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    let style: LogLine.Style

    /// A factory for `LoggingSystem.bootstrap`; the style is decided once, here.
    static func factory(level: Logger.Level,
                        environment: [String: String] = ProcessInfo.processInfo.environment) -> @Sendable (String) -> any LogHandler {
        let style: LogLine.Style = stderrIsJournal(environment) ? .journal : .plain
        return { _ in LineLogHandler(logLevel: level, style: style) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var pairs: [(key: String, value: String)] = []
        let provided = metadataProvider?.get() ?? [:]
        if !metadata.isEmpty || !provided.isEmpty || !(event.metadata?.isEmpty ?? true) {
            let merged = metadata.merging(provided) { $1 }.merging(event.metadata ?? [:]) { $1 }
            pairs = merged.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        }
        if let error = event.error { pairs.append(("error", "\(error)")) }
        var line = LogLine.render(style, level: Self.level(event.level), message: event.message.description,
                                  metadata: pairs, unixMilliseconds: style == .plain ? Self.nowMilliseconds() : 0)
        line += "\n"
        line.withUTF8 { bytes in
            var rest = UnsafeRawBufferPointer(bytes)
            while !rest.isEmpty {
                let n = write(STDERR_FILENO, rest.baseAddress, rest.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return } // stderr gone: nowhere left to say so
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
        }
    }

    /// True when stderr is the journald stream systemd set up: $JOURNAL_STREAM (`DEVICE:INODE`)
    /// names stderr itself. Checked against fstat(2), as sd-daemon(3) advises, because the
    /// variable is inherited by processes whose stderr was redirected elsewhere.
    static func stderrIsJournal(_ environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(STDERR_FILENO, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    private static func level(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }

    private static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

import AdminAPI
import ArgumentParser
import Foundation
import Logging
import ProbeAgentCore
import ProbeEngine
import Shipper
import SpillLog

@main
struct ProbeAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-agent",
        abstract: "Probe every target of every monitor on its cadence.",
        discussion: """
            Reads the YAML config, schedules each (monitor, target) on a timer wheel and sends due
            probes in per-protocol batches through the io_uring engine.

            Signals: SIGHUP reloads the config (an invalid file keeps the running config and logs
            why); SIGTERM/SIGINT stop scheduling, let probes in flight finish, write the status
            file and exit 0. The config file is also re-read when it changes on disk.
            """
    )

    @Option(name: .long, help: "The YAML config file.")
    var config: String = "config/agent.yaml"

    @Option(name: .long, help: "Write a JSON snapshot of the agent's state here (atomically replaced).")
    var statusFile: String?

    @Option(name: .long, help: "How often to write the status file, e.g. 10s.")
    var statusInterval: String = "10s"

    func run() throws {
        FreedMemory.useOneArena() // before any thread starts (FreedMemory.swift)
        let cfg: AgentConfig
        do {
            cfg = try AgentConfig.load(contentsOf: config)
        } catch {
            for e in error.errors { printErr("\(e)") }
            printErr("probe-agent: \(config): \(error.errors.count) error(s); not starting")
            throw ExitCode(1)
        }
        guard let interval = DurationParser.parse(statusInterval), interval > .zero else {
            throw ValidationError("--status-interval '\(statusInterval)' is not a duration (e.g. 10s)")
        }
        // One line per event on stderr; `<N>`-prefixed for journald under systemd (LineLogHandler.swift).
        LoggingSystem.bootstrap(LineLogHandler.factory(level: cfg.logLevel.swiftLogLevel))
        let log = Logger(label: "probe-agent")
        // One owner per spill directory, taken before anything starts: a second agent on the
        // same spill.dir exits here, naming the holder's pid, and touches nothing in it.
        let spillLock = try cfg.remoteWrite.map { _ in try Self.lockSpillDirectory(cfg.spill.directory, log: log) }
        // Before the capabilities go: a real-time policy for the loop's thread to inherit, if
        // the config asks for one (ThreadPriority.swift, LoopThread.swift).
        let lent = ThreadPriority.lendRealtimeToLoopThread(cfg)
        // First, before any other thread starts: sockets open, then every capability dropped.
        let engine: Engine
        do {
            engine = try Engine()
        } catch {
            log.critical("cannot start the probe engine: \(error)")
            throw ExitCode(3)
        }
        // The first thread after that is the loop's; then no other thread inherits real-time.
        let loopThread = LoopThread(config: cfg, lent: lent, log: log)
        ThreadPriority.mainThreadBackToNormal()
        // SIGTERM from here on is a clean stop, even before the loop exists (SignalRouter.swift);
        // not earlier: its dispatch thread must start after the capabilities are dropped.
        let signals = SignalRouter(log: log)
        signals.install()
        let info = engine.info
        log.info("engine up: icmp4=\(info.icmp4) icmp6=\(info.icmp6) tcp-syn=\(info.tcpSyn4 ? "raw" : "unavailable") capabilities dropped=\(info.capabilitiesDropped)")
        umask(0o027) // files and the admin socket: nothing for "other"
        let events = EventHub(log: log)
        let handoff = ResultHandoff(capacity: cfg.memoryQueueCapacity)
        var shipper: Shipper?
        if let rw = cfg.remoteWrite {
            do {
                var options = ShipperOptions(config: cfg, remoteWrite: rw)
                options.spillLock = spillLock
                shipper = try Shipper(
                    options: options, handoff: handoff, log: log,
                    onModeChange: { mode, why in
                        events.publish(AgentEvent(kind: .modeChanged, message: "delivery mode \(mode.rawValue): \(why)"))
                    },
                    // A drained burst (start-up's new series, an outage's backlog) left large
                    // buffers free: give the pages back, off the shipper's thread (FreedMemory.swift).
                    onBuffersFreed: { FreedMemory.releaseInBackground() })
            } catch {
                log.critical("cannot start result delivery (spill log \(cfg.spill.directory)): \(error)")
                throw ExitCode(3)
            }
            log.info("shipping results to \(rw.url); spill log in \(cfg.spill.directory)")
            // Before the loop, so a stop can always reach a running shipper.
            shipper?.start(onThread: { ThreadPriority.nameCallingThread("probe-ship"); ThreadPriority.lowerCallingThread() })
        }
        ThreadPriority.lowerEventLoops()
        let loop = AgentLoop.start(on: loopThread, engine: TakeOnce(engine), configPath: config, config: cfg,
                                   statusFile: statusFile, statusInterval: interval, shipper: shipper,
                                   handoff: handoff, events: events, log: log)
        let reloader = ConfigReloader(path: config, loop: loop)
        signals.attach(loop: loop, reloader: reloader)
        let servers: Servers
        do {
            servers = try Servers.start(config: cfg, loop: loop, shipper: shipper, reloader: reloader, events: events, log: log)
        } catch {
            log.critical("cannot start: \(error)")
            loop.requestStop()
            loop.waitUntilStopped()
            throw ExitCode(3)
        }
        reloader.start()
        loop.waitUntilStopped()
        reloader.stop()
        events.finish() // ends `events --follow` streams, so the admin server can close them
        servers.stop()
        spillLock?.release() // after the shipper has stopped and closed the spill log
        log.info("stopped")
    }

    /// Creates the spill directory if needed and takes its lock; a failure (above all another
    /// agent holding it) is one line on stderr and exit status 3.
    private static func lockSpillDirectory(_ directory: String, log: Logger) throws -> SpillDirectoryLock {
        do {
            // 0750: what the umask set further on (nothing for "other") gave it before the lock came first.
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
            return try SpillDirectoryLock(directory: directory)
        } catch let error as SpillError {
            log.critical("not starting: \(error)")
        } catch {
            log.critical("not starting: cannot create spill.dir \(directory): \(error)")
        }
        throw ExitCode(3)
    }
}

func printErr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

extension LogLevel {
    var swiftLogLevel: Logger.Level {
        Logger.Level(rawValue: rawValue) ?? .info
    }
}

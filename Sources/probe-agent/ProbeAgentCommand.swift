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
            Reads the YAML config, schedules each (monitor, target) on a timer wheel and sends due \
            probes in per-protocol batches through the io_uring engine.

            Signals: SIGHUP reloads the config (an invalid file keeps the running config and logs \
            why); SIGTERM/SIGINT stop scheduling, let probes in flight finish, write the status \
            file and exit 0. The config file is also re-read when it changes on disk, once it has \
            stopped changing for a second.

            Targets may also come from file_sd_configs and http_sd_configs (Prometheus formats; a \
            failing source keeps its last good targets) and be split over agents by shard: \
            {count, index}. A target keeps its phase and counters across reloads and discovery \
            refreshes unless its monitor's protocol, port, cadence or timeout changes.

            Started as root, the agent opens its raw sockets and then runs as the user named by \
            --user or process.user in the config, for good (no capabilities, no way back to root); \
            with neither it refuses to start, unless --run-as-root or process.run_as_root: true \
            says to stay uid 0 (capabilities still dropped). Not started as root (systemd User=, \
            setcap), it runs as it was started.
            """,
        version: AgentVersion.current
    )

    @Option(name: .long, help: "The YAML config file.")
    var config: String = "config/agent.yaml"

    @Option(name: .long, help: "Write a JSON snapshot of the agent's state here (atomically replaced).")
    var statusFile: String?

    @Option(name: .long, help: "How often to write the status file, e.g. 10s.")
    var statusInterval: String = "10s"

    @Option(name: .long, help: "When started as root: the user (name or uid) to run as once the raw sockets are open; wins over process.user.")
    var user: String?

    @Option(name: .long, help: "With --user: the group (name or gid); default the user's primary group.")
    var group: String?

    @Flag(name: .long, help: "When started as root with no user to switch to: stay uid 0 (capabilities still dropped) instead of refusing to start.")
    var runAsRoot = false

    @Option(name: .customLong("web.config.file"),
            help: "Web config (the Prometheus exporter-toolkit format): TLS, basic auth and headers for the HTTP listener (/metrics, /health, /-/ready); wins over http.web_config_file. Re-read when it or a file it names changes.")
    var webConfigFile: String?

    func run() throws {
        FreedMemory.configure() // before any thread starts (FreedMemory.swift)
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
        let (userSwitch, userNotice) = try decideUser(cfg)
        // One line per event on stderr; `<N>`-prefixed for journald under systemd (LineLogHandler.swift).
        LoggingSystem.bootstrap(LineLogHandler.factory(level: cfg.logLevel.swiftLogLevel))
        let log = Logger(label: "probe-agent")
        if let userNotice { log.log(level: userNotice.level, "\(userNotice.text)") }
        // Before anything starts, and as the user that started the agent (root can read a key
        // only root may): a broken web config is a refusal to start, naming the file.
        let web = try loadWebConfig(cfg, log: log)
        // Before the capabilities go: a real-time policy for the loop's thread to inherit, if
        // the config asks for one (ThreadPriority.swift, LoopThread.swift).
        let lent = ThreadPriority.lendRealtimeToLoopThread(cfg)
        // Started as root with a user to become: its directories made, its groups taken, its
        // access checked, while the engine still gets root's capabilities (UserSwitch.swift).
        if let userSwitch { try Self.beginSwitch(userSwitch, cfg, statusFile: statusFile, configPath: config, log: log) }
        // First, before any other thread starts: sockets open, then every capability dropped.
        let engine: Engine
        do {
            engine = try Engine()
        } catch {
            log.critical("cannot start the probe engine: \(error)")
            throw ExitCode(3)
        }
        if let userSwitch {
            do {
                try userSwitch.finish()
            } catch {
                log.critical("not starting: \(error)")
                throw ExitCode(3)
            }
            log.info("running as \(userSwitch.user):\(userSwitch.group) (uid \(userSwitch.uid), gid \(userSwitch.gid)); root cannot be regained")
        }
        // One owner per spill directory, taken before any thread starts (as the user the agent
        // runs as): a second agent on the same spill.dir exits here, naming the holder's pid,
        // and touches nothing in it.
        let spillLock = cfg.remoteWrite.isEmpty ? nil : try Self.lockSpillDirectory(cfg.spill.directory, log: log)
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
        if !cfg.remoteWrite.isEmpty {
            do {
                var options = ShipperOptions(config: cfg)
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
            let stores = cfg.remoteWrite.map { cfg.remoteWrite.count == 1 ? $0.url : "'\($0.name)' \($0.url)" }
            log.info("shipping results to \(stores.joined(separator: ", ")); spill log in \(cfg.spill.directory)")
            // Before the loop, so a stop can always reach a running shipper.
            shipper?.start(onThread: { ThreadPriority.nameCallingThread("probe-ship"); ThreadPriority.lowerCallingThread() })
        }
        ThreadPriority.lowerEventLoops()
        // Static targets (their shard) from the first turn; discovered ones as their sources answer.
        let probed = cfg.probing(discovered: [:])
        let loop = AgentLoop.start(on: loopThread, engine: TakeOnce(engine), configPath: config, config: probed,
                                   statusFile: statusFile, statusInterval: interval, shipper: shipper,
                                   handoff: handoff, events: events, log: log)
        let discovery = TargetDiscovery(config: cfg, running: probed, events: events, log: log) { loop.deliver($0) }
        let reloader = ConfigReloader(path: config) { discovery.configLoaded($0) }
        signals.attach(loop: loop, reloader: reloader)
        let servers: Servers
        do {
            servers = try Servers.start(config: cfg, loop: loop, shipper: shipper, reloader: reloader, discovery: discovery,
                                        events: events, web: web, log: log)
        } catch {
            log.critical("cannot start: \(error)")
            loop.requestStop()
            loop.waitUntilStopped()
            throw ExitCode(3)
        }
        reloader.start()
        discovery.start()
        loop.waitUntilStopped()
        reloader.stop()
        discovery.stop()
        events.finish() // ends `events --follow` streams, so the admin server can close them
        servers.stop()
        spillLock?.release() // after the shipper has stopped and closed the spill log
        log.info("stopped")
    }

    /// The web config `--web.config.file` or `http.web_config_file` names, nil when neither does;
    /// its problems are printed on stderr, with exit status 1, like the config's.
    private func loadWebConfig(_ cfg: AgentConfig, log: Logger) throws -> WebSecurity? {
        guard let path = webConfigFile ?? cfg.http.webConfigFile else { return nil }
        do {
            return try WebSecurity(path: path, log: log)
        } catch {
            printErr("\(error)")
            printErr("probe-agent: web config \(path) is not usable; not starting")
            throw ExitCode(1)
        }
    }

    /// Who to run as (RunAsDecision): the user to become (nil: stay as started) and a line to
    /// log; refusals are one line on stderr and exit status 1, like config errors.
    private func decideUser(_ cfg: AgentConfig) throws -> (UserSwitch?, notice: (level: Logger.Level, text: String)?) {
        switch RunAsDecision.decide(effectiveUID: geteuid(), config: cfg.process, user: user, group: group,
                                    runAsRoot: runAsRoot) {
        case .refuse(let why):
            printErr("probe-agent: \(why); not starting")
            throw ExitCode(1)
        case .become(let name, let groupName):
            do {
                return (try UserSwitch.resolve(user: name, group: groupName), nil)
            } catch {
                printErr("probe-agent: \(error); not starting")
                throw ExitCode(1)
            }
        case .stayRoot:
            // Asked for in so many words: worth a debug line, not a word at start-up.
            return (nil, (.debug, "staying root as asked (run_as_root); every capability is dropped once the sockets are open"))
        case .keep(let requested):
            guard let requested, (try? UserSwitch.resolve(user: requested, group: nil)).map(\.uid) != getuid() else {
                return (nil, nil)
            }
            return (nil, (.notice, "not started as root, so process.user/--user '\(requested)' is not applied; running as uid \(getuid())"))
        }
    }

    /// Step one of the switch (UserSwitch.begin) with what the user needs made or checked first:
    /// the spill and admin-socket directories created for it (as root), then, as the user,
    /// every file it will write. A problem is one line and exit status 3, before anything starts.
    private static func beginSwitch(_ userSwitch: UserSwitch, _ cfg: AgentConfig, statusFile: String?, configPath: String,
                                    log: Logger) throws {
        let adminDirectory = (cfg.admin.socketPath as NSString).deletingLastPathComponent
        var needs: [(path: String, mode: Int32, what: String)] = [(adminDirectory, W_OK | X_OK, "the admin socket's directory")]
        do {
            if !cfg.remoteWrite.isEmpty {
                try userSwitch.createDirectory(cfg.spill.directory)
                needs.append((cfg.spill.directory, R_OK | W_OK | X_OK, "spill.dir"))
            }
            try userSwitch.createDirectory(adminDirectory)
            try userSwitch.begin()
        } catch {
            log.critical("not starting: \(error)")
            throw ExitCode(3)
        }
        if let statusFile {
            let directory = (statusFile as NSString).deletingLastPathComponent
            needs.append((directory.isEmpty ? "." : directory, W_OK | X_OK, "the status file's directory"))
            if FileManager.default.fileExists(atPath: statusFile) { needs.append((statusFile, W_OK, "the status file")) }
        }
        let problems = userSwitch.accessProblems(needs)
        for problem in problems { log.critical("not starting: \(problem)") }
        if !problems.isEmpty { throw ExitCode(3) }
        if let unreadable = userSwitch.accessProblems([(configPath, R_OK, "the config file")]).first {
            log.warning("\(unreadable); reloads will fail until it is readable")
        }
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

import Dispatch
import Foundation
import Logging
import Synchronization

/// SIGHUP → reload, SIGTERM/SIGINT → graceful stop, delivered to the loop's mailbox.
///
/// Installed before the loop and the servers start, so a stop that arrives while the agent is
/// still starting is kept and carried out as soon as the loop exists (not the default action,
/// which killed the process with status 143).
/// `@unchecked`: `sources` is written only by install(), on the main thread, before any signal.
final class SignalRouter: @unchecked Sendable {
    private struct Routes {
        var loop: AgentLoop?
        var reloader: ConfigReloader?
        var stopRequested = false
    }

    private let routes = Mutex(Routes())
    private var sources: [DispatchSourceSignal] = []
    private let log: Logger
    private let queue = DispatchQueue(label: "probe-agent.signals")

    init(log: Logger) { self.log = log }

    /// Returns once the sources are registered: between `SIG_IGN` and the registration a
    /// signal would be discarded (a stop lost, found by AgentLifecycleTests).
    func install() {
        let registered = DispatchSemaphore(value: 0)
        let signals = [(SIGHUP, "SIGHUP"), (SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")]
        for (sig, name) in signals {
            signal(sig, SIG_IGN) // let the dispatch source, not the default action, see it
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler { [self] in
                if sig == SIGHUP {
                    guard let reloader = routes.withLock({ $0.reloader }) else {
                        return log.warning("\(name) ignored: the agent is still starting")
                    }
                    reloader.requestReload(reason: name)
                } else {
                    ServiceNotifier.shared.stopping()
                    log.notice("\(name): stopping; probes in flight will finish")
                    let loop = routes.withLock { r in
                        r.stopRequested = true
                        return r.loop
                    }
                    loop?.requestStop()
                }
            }
            src.setRegistrationHandler { registered.signal() }
            src.resume()
            sources.append(src)
        }
        for _ in signals where registered.wait(timeout: .now() + 2) == .timedOut {
            log.warning("signal handling not confirmed within 2 s; a stop sent now may be lost")
            break
        }
    }

    /// From now on signals reach `loop` and `reloader`; a stop that came earlier is passed on.
    func attach(loop: AgentLoop, reloader: ConfigReloader) {
        let stop = routes.withLock { r in
            r.loop = loop
            r.reloader = reloader
            return r.stopRequested
        }
        if stop { loop.requestStop() }
    }
}

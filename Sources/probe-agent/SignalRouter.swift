import Dispatch
import Foundation
import Logging

/// SIGHUP → reload, SIGTERM/SIGINT → graceful stop, delivered to the loop's mailbox.
final class SignalRouter {
    private var sources: [DispatchSourceSignal] = []
    private let loop: AgentLoop
    private let reloader: ConfigReloader
    private let log: Logger
    private let queue = DispatchQueue(label: "probe-agent.signals")

    init(loop: AgentLoop, reloader: ConfigReloader, log: Logger) {
        self.loop = loop
        self.reloader = reloader
        self.log = log
    }

    func install() {
        let loop = self.loop, reloader = self.reloader, log = self.log
        for (sig, name) in [(SIGHUP, "SIGHUP"), (SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(sig, SIG_IGN) // let the dispatch source, not the default action, see it
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler {
                if sig == SIGHUP {
                    reloader.requestReload(reason: name)
                } else {
                    ServiceNotifier.shared.stopping()
                    log.notice("\(name): stopping; probes in flight will finish")
                    loop.requestStop()
                }
            }
            src.resume()
            sources.append(src)
        }
    }
}

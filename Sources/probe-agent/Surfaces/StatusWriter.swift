import AdminAPI
import Foundation
import Logging

/// Writes the status file (`--status-file`: the whole ``AgentStatus``, every target's
/// counters included) atomically (temp file + rename), off the loop thread.
final class StatusWriter: Sendable {
    let path: String
    private let queue = DispatchQueue(label: "probe-agent.status")

    init(path: String) { self.path = path }

    func write(synchronously: Bool, log: Logger, _ build: @escaping @Sendable () -> AgentStatus) {
        let path = self.path
        let once = TakeOnce(build)
        let work: @Sendable () -> Void = {
            if let build = once.take() { Self.encode(build(), to: path, log: log) }
            // The encoder's temporary tree of every target and the loop snapshot, both freed by now.
            FreedMemory.release()
        }
        if synchronously { queue.sync(execute: work) } else { queue.async(execute: work) }
    }

    private static func encode(_ snapshot: AgentStatus, to path: String, log: Logger) {
        do {
            let data = try JSONEncoder.admin.encode(snapshot)
            let tmp = path + ".tmp"
            try data.write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            log.error("cannot write status file \(path): \(error)")
        }
    }
}

import AdminAPI
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import ProbeAgentCore

/// Options every command that talks to a running agent shares.
struct AgentConnection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The agent's admin socket. Default: $\(AdminPaths.socketEnvironment), else admin.socket of --config, else \(AdminPaths.defaultSocket).",
        valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Read the admin socket path from this config file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: "Seconds to wait for the agent's answer.")
    var timeout: Double = 30

    /// The socket path, by the precedence in `--socket`'s help.
    func socketPath() throws -> String {
        if let socket { return socket }
        if let env = ProcessInfo.processInfo.environment[AdminPaths.socketEnvironment], !env.isEmpty { return env }
        if let config {
            do {
                return try AgentConfig.load(contentsOf: config).admin.socketPath
            } catch {
                printError("agentctl: cannot read the admin socket from \(config): \(error.errors.first?.description ?? "\(error)")")
                throw ExitCode(AgentExit.unreachable)
            }
        }
        return AdminPaths.defaultSocket
    }
}

/// Exit statuses of the commands that talk to the agent.
enum AgentExit {
    /// The agent answered, and the answer is a failure (a refused reload, a monitor down with --check …).
    static let failed: Int32 = 1
    /// The agent could not be reached: not running, no permission on the socket, no answer in time.
    static let unreachable: Int32 = 3
}

/// HTTP over the agent's unix socket (async-http-client), with the errors an operator needs:
/// the agent is not running, the socket is not accessible, or it did not answer.
struct AdminClient {
    let path: String
    let timeout: Double

    init(_ c: AgentConnection) throws {
        path = try c.socketPath()
        timeout = c.timeout
    }

    /// Checks the socket with a plain connect(2) first, so that "not running" and "permission
    /// denied" are told apart and named (exit 3).
    func reachable() throws {
        if let problem = Self.connectProblem(path) {
            printError("agentctl: \(problem)")
            throw ExitCode(AgentExit.unreachable)
        }
    }

    static func connectProblem(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == EACCES {
                return "cannot reach \(path): permission denied on its directory; run as root or as a member of the agent's group"
            }
            return "probe-agent is not running: no admin socket at \(path) (start it: systemctl start probe-agent; or point --socket / $\(AdminPaths.socketEnvironment) at its admin.socket)"
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else { return "\(path) is not a socket (check --socket / admin.socket)" }
        let code = UnixSocket.connectError(path: path)
        if code == 0 { return nil }
        switch code {
        case EACCES, EPERM:
            return "permission denied on \(path): run as root or as a member of the socket's group (\(groupName(st.st_gid)))"
        case ECONNREFUSED:
            return "probe-agent is not running: nothing listens on \(path) (a stale socket left by an agent that stopped)"
        case EAGAIN:
            return "probe-agent on \(path) is not accepting connections (its backlog is full: busy or stuck)"
        default:
            return "cannot connect to \(path): \(String(cString: strerror(code)))"
        }
    }

    private static func groupName(_ gid: gid_t) -> String {
        guard let g = getgrgid(gid), let name = g.pointee.gr_name else { return "gid \(gid)" }
        return String(cString: name)
    }

    /// GETs or POSTs `path` and decodes the JSON reply; a non-2xx answer with an error body is
    /// returned as `.refused` (the agent said no), anything else unexpected exits 3.
    func call<T: Decodable>(post: Bool = false, _ uri: String, as: T.Type) async throws -> Answer<T> {
        try reachable()
        let response: HTTPClientResponse
        var body = ByteBuffer()
        do {
            response = try await HTTPClient.shared.execute(request(post: post, uri), timeout: .milliseconds(Int64(timeout * 1000)))
            body = try await response.body.collect(upTo: 256 << 20)
        } catch {
            printError("agentctl: no answer from probe-agent on \(path) within \(timeout) s: \(error)")
            throw ExitCode(AgentExit.unreachable)
        }
        let data = Data(body.readableBytesView)
        if (200..<300).contains(response.status.code), let value = try? JSONDecoder.admin.decode(T.self, from: data) {
            return .ok(value, data)
        }
        if let value = try? JSONDecoder.admin.decode(T.self, from: data) { return .refused(value, data) }
        if let e = try? JSONDecoder.admin.decode(ErrorReply.self, from: data) {
            printError("agentctl: probe-agent: \(e.error)")
            throw ExitCode(AgentExit.failed)
        }
        printError("agentctl: unexpected answer from \(path): HTTP \(response.status.code) \(String(decoding: data.prefix(200), as: UTF8.self))")
        throw ExitCode(AgentExit.unreachable)
    }

    /// A streamed body (events --follow), line by line, until the agent closes it.
    func stream(_ uri: String, line: (Data) throws -> Void) async throws {
        try reachable()
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request(post: false, uri), deadline: .distantFuture)
        } catch {
            printError("agentctl: no answer from probe-agent on \(path): \(error)")
            throw ExitCode(AgentExit.unreachable)
        }
        guard response.status == .ok else { // refused (e.g. too many followers): say why
            let data = Data((try? await response.body.collect(upTo: 1 << 20))?.readableBytesView ?? [])
            let why = (try? JSONDecoder.admin.decode(ErrorReply.self, from: data))?.error ?? "HTTP \(response.status.code)"
            printError("agentctl: probe-agent: \(why)")
            throw ExitCode(AgentExit.failed)
        }
        var pending = Data()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                try line(pending[pending.startIndex..<nl])
                pending.removeSubrange(pending.startIndex...nl)
            }
        }
    }

    private func request(post: Bool, _ uri: String) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: URL(httpURLWithSocketPath: path, uri: uri)!.absoluteString)
        if post { r.method = .POST }
        return r
    }

    enum Answer<T> {
        case ok(T, Data)
        case refused(T, Data)
    }
}

/// Prints `data` (the agent's JSON) as is, for `--json`.
func printJSON(_ data: Data) {
    FileHandle.standardOutput.write(data)
    if data.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
}

import HTTPTypes
import Hummingbird
import NIOCore
import ProbeAgentCore

/// Applies the web config to every request of the HTTP listener: basic auth (401 with
/// `WWW-Authenticate` when it is asked and the credentials are missing or wrong) and the
/// configured response headers (on the 401 too). First in the chain, so a client without
/// credentials gets nothing else out of the agent, not even a request body read.
struct WebConfigMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let security: WebSecurity

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let config = security.current()
        var response: Response
        if config.requiresAuthentication,
           !(await security.authorize(request.headers[.authorization], users: config.basicAuthUsers)) {
            response = MetricsEndpoint.text(.unauthorized, "401 Unauthorized\n")
            response.headers[.wwwAuthenticate] = #"Basic realm="probe-agent", charset="UTF-8""#
        } else {
            response = try await next(request, context)
        }
        for header in config.headers {
            if let name = HTTPField.Name(header.name) { response.headers[name] = header.value }
        }
        return response
    }
}

/// Where the admin API lives and what it answers; shared by probe-agent (server) and agentctl.
///
/// The API is HTTP/1.1 with JSON bodies on a unix socket; the socket's file permissions are the
/// access control, and nothing that changes state is served on the TCP listener.
public enum AdminPaths {
    /// Default socket, under systemd's RuntimeDirectory=probe-agent.
    public static let defaultSocket = "/run/probe-agent/admin.sock"
    /// Environment variable agentctl reads for the socket path when `--socket` is not given.
    public static let socketEnvironment = "PROBE_AGENT_SOCKET"

    public static let status = "/v1/status"
    public static let queueStats = "/v1/queue-stats"
    public static let monitors = "/v1/monitors"
    public static let graph = "/v1/monitors/graph"
    /// POST: re-read the config file; answers once the loop applied or refused it.
    public static let reload = "/v1/reload"
    /// Recent events as a JSON array; with `?follow=1`, newline-delimited JSON, one event per
    /// line, streamed until the client disconnects.
    public static let events = "/v1/events"
}

/// The agent's version, reported by `/metrics` (`probeagent_build_info`), `status` and the
/// remote-write User-Agent.
public enum AgentVersion {
    public static let current = "0.5.0"
}

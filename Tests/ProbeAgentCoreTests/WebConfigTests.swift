import Foundation
import TestSupport
import Testing
@testable import ProbeAgentCore

/// The exporter-toolkit web config: the good files load as written, each bad one is refused
/// with its file:line:column and a message naming the problem (the toolkit's
/// `testdata/*.good.yml` / `*.bad.yml` as the model of a table).
@Suite("Web config (exporter-toolkit format): parsing and validation")
struct WebConfigTests {
    static let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"

    func load(_ yaml: String, directory: String = "/etc/pa") throws(ConfigErrors) -> WebConfig {
        try WebConfig.load(yaml: yaml, file: "web.yml", directory: directory)
    }

    func errors(_ yaml: String) -> [ConfigError] {
        do {
            _ = try load(yaml)
            return []
        } catch {
            return error.errors
        }
    }

    @Test func fullFileLoadsWithPathsResolvedAgainstItsDirectory() throws {
        let c = try load("""
            tls_server_config:
              cert_file: server.crt
              key_file: /abs/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              min_version: TLS13
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
                X-XSS-Protection: ""
            basic_auth_users:
              prometheus: "\(Self.hash)"
            """)
        let tls = try #require(c.tls)
        #expect(tls.certFile == "/etc/pa/server.crt" && tls.keyFile == "/abs/server.key" && tls.clientCAFile == "/etc/pa/ca.crt")
        #expect(tls.clientAuth == .requireAndVerify && tls.minVersion == .tls13 && tls.maxVersion == .tls13)
        #expect(tls.cipherSuites == [0xC02F, 0xCCA9])
        #expect(c.headers == [.init(name: "X-Frame-Options", value: "deny"), .init(name: "Strict-Transport-Security", value: "max-age=31536000")],
                "a blank header is unset, as in the toolkit")
        #expect(c.basicAuthUsers == ["prometheus": Self.hash] && c.requiresAuthentication)
    }

    @Test func exampleInConfigLoads() throws {
        let c = try WebConfig.load(contentsOf: repositoryRoot.appendingPathComponent("config/web-config.yml").path)
        #expect(c.tls?.certFile == "/etc/probe-agent/tls/server.crt" && c.tls?.minVersion == .tls12)
        #expect(c.basicAuthUsers["prometheus"].map(WebConfig.isBcryptHash) == true && c.headers.count == 2)
    }

    @Test func emptyFileAsksForNothing() throws {
        #expect(try load("") == WebConfig())
        #expect(try load("basic_auth_users:\n") == WebConfig())
    }

    @Test("bad files", arguments: [
        ("tls_server_config:\n  key_file: k\n", 2, "missing cert_file in tls_server_config"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS14\n", 4, "unknown min_version 'TLS14'"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: TLS12\n", 5, "min_version TLS13 is above max_version TLS12"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca\n", 4, "accepts unverified client certificates"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n", 4, "needs client_ca_file"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", 4, "unknown cipher suite 'TLS_RSA_WITH_RC4_128_SHA'"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_allowed_sans: [a]\n", 4, "client_allowed_sans is not supported"),
        ("tls_server_config:\n  cert_file: c\n  key_fiel: k\n", 3, "did you mean 'key_file'?"),
        ("basic_auth_users:\n  alice: plaintext\n", 2, "basic_auth_users.alice is not a bcrypt hash"),
        ("basic_auth_users:\n  alice: \"$2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\"\n", 2, "is not a bcrypt hash"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", 3, "invalid value 'allow' for header X-Frame-Options"),
        ("http_server_config:\n  headers:\n    Server: pa\n", 3, "header 'Server' cannot be set"),
        ("rate_limit:\n  interval: 1s\n", 2, "rate_limit is not supported"),
        ("tls_server_config: [\n", 2, "invalid YAML"),
        ("basic_auth_user:\n  a: b\n", 1, "unknown key 'basic_auth_user'"),
    ])
    func badFileIsRefusedAtItsLine(yaml: String, line: Int, message: String) {
        let found = errors(yaml)
        #expect(found.contains { $0.line == line && $0.message.contains(message) && $0.file == "web.yml" },
                "expected line \(line): \(message); got \(found.map(\.description))")
    }

    @Test func bcryptHashShape() {
        #expect(WebConfig.isBcryptHash(Self.hash))
        #expect(WebConfig.isBcryptHash("$2b$04$" + String(repeating: "a", count: 53)))
        #expect(!WebConfig.isBcryptHash("$2b$03$" + String(repeating: "a", count: 53)), "cost below 4")
        #expect(!WebConfig.isBcryptHash("$2b$10$" + String(repeating: "a", count: 52)), "one character short")
        #expect(!WebConfig.isBcryptHash("$2b$10$" + String(repeating: "a", count: 52) + "!"), "not bcrypt's base64")
        #expect(!WebConfig.isBcryptHash("$1$10$" + String(repeating: "a", count: 54)), "md5-crypt")
    }

    @Test func httpSectionTakesTheWebConfigFile() throws {
        let c = try AgentConfig.load(yaml: "monitors: []\nhttp:\n  listen: 127.0.0.1:0\n  web_config_file: /etc/probe-agent/web.yml\n", file: "a.yaml")
        #expect(c.http.webConfigFile == "/etc/probe-agent/web.yml")
        #expect(configErrors("monitors: []\nhttp:\n  web_config_file: \"\"\n").contains { $0.message.contains("http.web_config_file is empty") })
    }
}

@Suite("Content coding: Accept-Encoding with q-values")
struct ContentCodingTests {
    @Test("negotiation", arguments: [
        (nil, ContentCoding.identity),
        ("", .identity),
        ("gzip", .gzip),
        ("deflate, gzip, br, zstd", .gzip),
        ("GZIP;Q=0.8", .gzip),
        ("x-gzip", .gzip),
        ("gzip;q=0", .identity),
        ("gzip; q=0.000", .identity),
        ("br", .identity),
        ("*", .gzip),
        ("*;q=0.5", .gzip),
        ("*;q=0.5, identity;q=0.1", .gzip),
        ("identity;q=1, gzip;q=0.5", .identity),
        ("identity;q=0.5, gzip;q=0.5", .gzip),
        ("identity;q=0, gzip;q=0.2", .gzip),
        ("gzip;q=oops", .identity),
        ("*;q=0, gzip;q=0", .identity),
    ] as [(String?, ContentCoding)])
    func negotiate(header: String?, expected: ContentCoding) {
        #expect(ContentCoding.negotiate(header) == expected, "Accept-Encoding: \(header ?? "(none)")")
    }
}

@Suite("Basic auth: credentials and the cache of bcrypt results")
struct BasicCredentialsTests {
    @Test func parsesBasicAuthorization() {
        // "alice:pa:ss" — a password may hold ':'.
        #expect(BasicCredentials(authorization: "Basic YWxpY2U6cGE6c3M=") == BasicCredentials(user: "alice", password: "pa:ss"))
        #expect(BasicCredentials(authorization: "basic  YWxpY2U6") == BasicCredentials(user: "alice", password: ""))
        #expect(BasicCredentials(authorization: nil) == nil)
        #expect(BasicCredentials(authorization: "Bearer YWxpY2U6cGFzcw==") == nil)
        #expect(BasicCredentials(authorization: "Basic !!!") == nil)
        #expect(BasicCredentials(authorization: "Basic YWxpY2U=") == nil, "no colon")
    }

    @Test func cacheKeepsResultsPerHashAndDropsTheOldestPastCapacity() {
        var cache = VerifiedCredentials(capacity: 3)
        let alice = BasicCredentials(user: "alice", password: "right")
        let key = VerifiedCredentials.Key(alice, hash: "h1")
        #expect(cache.result(key) == nil)
        cache.keep(key, true)
        #expect(cache.result(key) == true)
        #expect(cache.result(.init(alice, hash: "h2")) == nil, "a new hash is checked anew")
        cache.keep(key, true)
        #expect(cache.count == 1, "keeping a known key adds nothing")
        for i in 0..<3 { cache.keep(.init(.init(user: "mallory", password: "\(i)"), hash: "h1"), false) }
        #expect(cache.count == 3 && cache.result(key) == nil, "the oldest went")
        #expect(cache.result(.init(.init(user: "mallory", password: "2"), hash: "h1")) == false)
    }
}

@Suite("Web config refresh: when to look, what a running listener takes")
struct WebConfigRefreshTests {
    static func stamp(_ inode: UInt64) -> CredentialFile.Stamp {
        .init(device: 1, inode: inode, size: 10, modifiedNanos: 5)
    }

    @Test func looksAtMostOncePerIntervalAndRereadsOnlyOnChange() {
        let t0: UInt64 = 50 * secondNanos
        var r = WebConfigRefresh(stamps: [Self.stamp(1), nil], now: t0)
        let looks = [r.due(now: t0 + 999 * msNanos), r.due(now: t0 + secondNanos), r.due(now: t0 + secondNanos + 1)]
        #expect(looks == [false, true, false], "once per interval, counted from the look")
        let changes = [r.changed([Self.stamp(1), nil]), r.changed([Self.stamp(2), nil]), r.changed([Self.stamp(2), nil]),
                       r.changed([Self.stamp(2), Self.stamp(9)])]
        // unchanged; renamed over (a new inode); a failed read is not retried until it changes
        // again; a named file appeared.
        #expect(changes == [false, true, false, true])
    }

    @Test func usersAndCertificatesApplyLiveTLSPolicyWaitsForARestart() {
        var tls = WebConfig.TLS(certFile: "a.crt", keyFile: "a.key")
        let running = WebConfig(tls: tls, basicAuthUsers: ["a": "x"])
        tls.certFile = "b.crt"
        var next = WebConfig(tls: tls, basicAuthUsers: ["b": "y"])
        var (taken, warning) = WebConfigRefresh.apply(next, over: running)
        #expect(taken == next && warning == nil, "a new certificate and new users: all live")

        next.tls?.minVersion = .tls13
        (taken, warning) = WebConfigRefresh.apply(next, over: running)
        #expect(taken.tls?.minVersion == .tls12 && taken.tls?.certFile == "b.crt" && taken.basicAuthUsers == ["b": "y"])
        #expect(warning?.contains("restarts") == true)

        (taken, warning) = WebConfigRefresh.apply(WebConfig(), over: running)
        #expect(taken.tls == running.tls && taken.basicAuthUsers.isEmpty && warning?.contains("removed") == true)
        (taken, warning) = WebConfigRefresh.apply(running, over: WebConfig())
        #expect(taken.tls == nil && taken.basicAuthUsers == ["a": "x"] && warning?.contains("added") == true)
    }
}

/// Request headers are a client's to write: random and mangled ones never trap, and what
/// they yield holds its invariants (seeded, so a failure is reproducible).
@Suite("Web request headers and web config text: random input")
struct WebInputPropertyTests {
    static let alphabet = Array("gzip;q=0.5, *identity x-GZIP br \t;=,Basic YWxpY2U6cHc= :\u{0}é1.0e9-".unicodeScalars)

    static func text(_ rng: inout SeededRandom, max: Int) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<rng.below(max) { s.append(alphabet[rng.below(alphabet.count)]) }
        return String(s)
    }

    @Test func acceptEncodingNeverTrapsAndRefusalsHold() {
        var rng = SeededRandom(seed: 20)
        for _ in 0..<20_000 {
            let header = Self.text(&rng, max: 60)
            let coding = ContentCoding.negotiate(header)
            let named = header.lowercased().contains("gzip") || header.contains("*")
            #expect(coding == .identity || named, "gzip for a header that does not name it: \(header)")
            if !named {
                #expect(ContentCoding.negotiate(header + ", gzip") == .gzip, "\(header), gzip")
                #expect(ContentCoding.negotiate(header + ", gzip;q=0") == .identity, "\(header), gzip;q=0")
            }
        }
    }

    @Test func authorizationNeverTrapsAndRoundTrips() {
        var rng = SeededRandom(seed: 21)
        for _ in 0..<20_000 {
            _ = BasicCredentials(authorization: Self.text(&rng, max: 60))
            let user = Self.text(&rng, max: 12).replacingOccurrences(of: ":", with: "")
            let password = Self.text(&rng, max: 20)
            let encoded = Data("\(user):\(password)".utf8).base64EncodedString()
            #expect(BasicCredentials(authorization: "Basic \(encoded)") == BasicCredentials(user: user, password: password))
        }
    }

    @Test func webConfigTextNeverTraps() {
        var rng = SeededRandom(seed: 22)
        let pieces = ["tls_server_config:\n", "  cert_file: a\n", "  key_file: b\n", "  min_version: TLS1", "basic_auth_users:\n",
                      "  u: \"$2y$10$", "http_server_config:\n", "  headers:\n", "    X-Frame-Options: ", "[", "{", "&a ", "*a\n",
                      "  client_auth_type: ", "RequireAndVerifyClientCert\n", "  cipher_suites: [", "]\n", "\n", " ", ":"]
        for _ in 0..<3_000 {
            var yaml = ""
            for _ in 0..<rng.below(12) { yaml += pieces[rng.below(pieces.count)] }
            do {
                let c = try WebConfig.load(yaml: yaml, file: "w.yml", directory: "")
                #expect(c.basicAuthUsers.values.allSatisfy(WebConfig.isBcryptHash))
            } catch {
                #expect(!error.errors.isEmpty && error.errors.allSatisfy { $0.file == "w.yml" })
            }
        }
    }
}

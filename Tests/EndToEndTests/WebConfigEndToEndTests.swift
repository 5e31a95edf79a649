import Foundation
import Testing

/// The HTTP listener with a web config (`--web.config.file`): real TLS (a self-signed
/// certificate made by openssl), basic auth against a bcrypt hash made by htpasswd, checked
/// with curl; gzip on /metrics; broken web configs refused at start.
@Suite("probe-agent web config: TLS, basic auth, gzip", .serialized, .timeLimit(.minutes(5)))
struct WebConfigEndToEndTests {
    /// A temp dir with a certificate for 127.0.0.1, its key, and a bcrypt hash of `password`.
    final class Material {
        let dir: URL
        let cert: String, key: String
        let hash: String

        init(password: String = "s3cret") throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("webcfg-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            (cert, key) = try Self.certificate(in: dir, name: "server")
            hash = try Self.bcrypt(password)
        }

        /// A self-signed certificate for 127.0.0.1 and its key, NAME.crt and NAME.key in `dir`.
        static func certificate(in dir: URL, name: String) throws -> (cert: String, key: String) {
            let cert = dir.appendingPathComponent("\(name).crt").path, key = dir.appendingPathComponent("\(name).key").path
            let ssl = try Tools.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                     "-nodes", "-days", "2", "-subj", "/CN=probe-agent-\(name)", "-addext", "subjectAltName=IP:127.0.0.1",
                                     "-keyout", key, "-out", cert], timeout: 30)
            try #require(ssl.status == 0, "openssl: \(ssl.stderr)")
            return (cert, key)
        }

        deinit { try? FileManager.default.removeItem(at: dir) }

        /// `htpasswd -nbB` (apache2-utils), cost 10 as the toolkit's docs suggest: ~70 ms a check.
        static func bcrypt(_ password: String) throws -> String {
            let out = try Tools.run(["htpasswd", "-nbBC", "10", "", password], timeout: 30)
            try #require(out.status == 0, "htpasswd (apache2-utils): \(out.stderr)")
            return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: ":"))
        }

        /// Writes a web config file and returns its path.
        func write(_ yaml: String, name: String = "web.yml") throws -> String {
            let path = dir.appendingPathComponent(name).path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        var secured: String {
            """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            http_server_config:
              headers:
                X-Frame-Options: deny
            basic_auth_users:
              prometheus: "\(hash)"
            """
        }
    }

    struct Reply { var status: Int; var headers: String; var body: Data; var curlExit: Int32 }

    /// GET with curl, trusting the test certificate: status, response headers, raw body.
    static func get(_ url: String, cacert: String? = nil, user: String? = nil, gzip: Bool = false,
                    client: (cert: String, key: String)? = nil) throws -> Reply {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("web-get-\(UUID().uuidString)").path
        defer { for f in [base + ".body", base + ".head"] { try? FileManager.default.removeItem(atPath: f) } }
        var args = ["curl", "-s", "-o", base + ".body", "-D", base + ".head", "-w", "%{http_code}", "--max-time", "30"]
        if let cacert { args += ["--cacert", cacert] }
        if let user { args += ["-u", user] }
        if let client { args += ["--cert", client.cert, "--key", client.key] }
        if gzip { args += ["-H", "Accept-Encoding: gzip"] }
        let out = try Tools.run(args + [url], timeout: 40)
        return Reply(status: Int(out.stdout) ?? 0, headers: (try? String(contentsOfFile: base + ".head", encoding: .utf8)) ?? "",
                     body: (try? Data(contentsOf: URL(fileURLWithPath: base + ".body"))) ?? Data(), curlExit: out.status)
    }

    static func sample(_ page: String, _ name: String) -> Double? {
        page.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// The lines of a page that come from the shared loop snapshot (not the agent's own
    /// `probeagent_*`/`process_*` metrics, which move between two scrapes).
    static func snapshotPart(_ page: String) -> [Substring] {
        page.split(separator: "\n").filter { line in
            let name = line.hasPrefix("# ") ? line.split(separator: " ").dropFirst(2).first ?? "" : line
            return !name.hasPrefix("probeagent_") && !name.hasPrefix("process_")
        }
    }

    /// An agent with `m.secured` as its web config, and its listener's address.
    static func startSecured(_ m: Material) throws -> (RunningAgent, String) {
        let web = try m.write(m.secured)
        let agent = try RunningAgent(config: ServiceSurfaceTests.config(), arguments: ["--run-as-root", "--web.config.file", web])
        return (agent, try #require(agent.waitForListeners(), "no listeners; log:\n\(agent.log)"))
    }

    @Test("over TLS: no credentials 401, wrong password 401, right one 200; plain HTTP fails; one bcrypt per credential")
    func tlsAndBasicAuth() throws {
        let m = try Material()
        let (agent, address) = try Self.startSecured(m)
        #expect(agent.log.contains("on https://\(address)") && agent.log.contains("basic auth for 1 user(s)"), "\(agent.log)")
        let url = "https://\(address)"
        // A client that connects and never starts TLS: closed at the idle timeout like any other.
        let silent = try RawHTTPConnection(tcp: address)

        let none = try Self.get(url + "/metrics", cacert: m.cert)
        #expect(none.status == 401 && none.headers.lowercased().contains("www-authenticate: basic"), "\(none.headers)")
        #expect(none.headers.contains("X-Frame-Options: deny") || none.headers.lowercased().contains("x-frame-options: deny"), "headers on a 401 too")
        #expect(try Self.get(url + "/metrics", cacert: m.cert, user: "prometheus:wrong").status == 401)
        #expect(try Self.get(url + "/metrics", cacert: m.cert, user: "nobody:s3cret").status == 401)
        for path in ["/health", "/-/ready", "/"] {
            #expect(try Self.get(url + path, cacert: m.cert).status == 401, "\(path) is protected too")
        }
        _ = agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 3 }
        let ok = try Self.get(url + "/metrics", cacert: m.cert, user: "prometheus:s3cret")
        #expect(ok.status == 200, "\(ok.headers)")
        #expect(ok.headers.lowercased().contains("x-frame-options: deny"))
        let page = String(decoding: ok.body, as: UTF8.self)
        #expect(page.contains("probe_sent_total{monitor=\"lo\""), "metrics over TLS:\n\(page.prefix(400))")
        #expect(try Self.get(url + "/health", cacert: m.cert, user: "prometheus:s3cret").status == 200)

        // Plain HTTP on the TLS port: no HTTP answer at all.
        let plain = try Self.get("http://\(address)/metrics")
        #expect(plain.status == 0 || plain.status >= 400, "plain HTTP must not be served: \(plain.status)")
        #expect(!String(decoding: plain.body, as: UTF8.self).contains("probe_sent_total"))
        // An untrusted certificate is not accepted by a verifying client.
        #expect(try Self.get(url + "/metrics", user: "prometheus:s3cret").curlExit != 0)

        // Three distinct credentials were checked (wrong password, unknown user, right one);
        // five more scrapes with the right one cost no bcrypt.
        for _ in 0..<5 { #expect(try Self.get(url + "/metrics", cacert: m.cert, user: "prometheus:s3cret").status == 200) }
        let last = String(decoding: try Self.get(url + "/metrics", cacert: m.cert, user: "prometheus:s3cret").body, as: UTF8.self)
        #expect(Self.sample(last, "probeagent_http_auth_hash_checks_total") == 3, "one bcrypt per credential, not per scrape")
        #expect((Self.sample(last, "probeagent_http_auth_refused_total") ?? 0) >= 6)
        // SurfaceLimits.idleTimeoutSeconds: 10 s from when it connected.
        let closedAfter = silent.secondsUntilClosed(timeout: 20)
        #expect(closedAfter != nil, "a connection that never says hello is closed at the idle timeout")
        #expect(agent.stop() == 0)
    }

    @Test("gzip when asked: Content-Encoding and Vary, a body that gunzips to the identity page")
    func gzipScrape() throws {
        let agent = try RunningAgent(config: ServiceSurfaceTests.config())
        let address = try #require(agent.waitForListeners(), "no listeners; log:\n\(agent.log)")
        _ = agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 3 }
        // Within one snapshot window (5 s), so the per-target part is the same snapshot.
        let plain = try Self.get("http://\(address)/metrics")
        let zipped = try Self.get("http://\(address)/metrics", gzip: true)
        #expect(plain.status == 200 && zipped.status == 200)
        let ph = plain.headers.lowercased(), zh = zipped.headers.lowercased()
        #expect(!ph.contains("content-encoding") && ph.contains("vary: accept-encoding"), "\(ph)")
        #expect(zh.contains("content-encoding: gzip") && zh.contains("vary: accept-encoding"), "\(zh)")
        #expect(zipped.body.starts(with: [0x1F, 0x8B]), "gzip magic")
        let file = agent.dir.appendingPathComponent("page.gz")
        try zipped.body.write(to: file)
        let gunzip = try Tools.run(["gzip", "-dc", file.path], timeout: 30)
        #expect(gunzip.status == 0, "gzip -t: \(gunzip.stderr)")
        let plainPage = String(decoding: plain.body, as: UTF8.self)
        #expect(Self.snapshotPart(gunzip.stdout) == Self.snapshotPart(plainPage), "same exposition, gzip or not")
        #expect(Self.snapshotPart(plainPage).count > 20)
        #expect(zipped.body.count < plain.body.count / 3, "\(zipped.body.count) vs \(plain.body.count) bytes")
        // q=0 refuses gzip.
        let refused = try Tools.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip;q=0",
                                     "http://\(address)/metrics"], timeout: 30)
        #expect(!refused.stdout.lowercased().contains("content-encoding"), "\(refused.stdout)")
        #expect(agent.stop() == 0)
    }

    @Test("a new password in the web config applies without a restart; a broken edit keeps the running one")
    func rereadOnChange() throws {
        let m = try Material()
        let (agent, address) = try Self.startSecured(m)
        let url = "https://\(address)/-/ready"
        #expect(try Self.get(url, cacert: m.cert, user: "prometheus:s3cret").status != 401)
        let newHash = try Material.bcrypt("n3w")
        _ = try m.write(m.secured.replacingOccurrences(of: m.hash, with: newHash))
        var status = 0
        let deadline = Date().addingTimeInterval(10)
        repeat {
            usleep(300_000)
            status = try Self.get(url, cacert: m.cert, user: "prometheus:n3w").status
        } while status == 401 && Date() < deadline
        #expect(status != 401, "the new password is taken within a second or so")
        #expect(try Self.get(url, cacert: m.cert, user: "prometheus:s3cret").status == 401, "the old one no longer")
        _ = try m.write("basic_auth_users:\n  prometheus: not-a-hash\n")
        // Requests (and handshakes) are what look at the file: keep asking until it is seen.
        let seen = Date().addingTimeInterval(10)
        while !agent.log.contains("not re-read") && Date() < seen {
            usleep(300_000)
            _ = try Self.get(url, cacert: m.cert, user: "prometheus:n3w")
        }
        #expect(agent.log.contains("not re-read"), "the broken edit is logged")
        #expect(agent.log.contains("is not a bcrypt hash"), "\(agent.log)")
        #expect(try Self.get(url, cacert: m.cert, user: "prometheus:n3w").status != 401, "the running config is kept")

        // A renewed certificate: new key, then new certificate, each renamed into place (a look
        // between the two sees a pair that does not belong together and keeps the old one).
        _ = try m.write(m.secured.replacingOccurrences(of: m.hash, with: newHash))
        let old = m.dir.appendingPathComponent("old.crt").path
        #expect(link(m.cert, old) == 0)
        let renewed = try Material.certificate(in: m.dir, name: "renewed")
        #expect(rename(renewed.key, m.key) == 0)
        usleep(1_100_000)
        // A request (over the old certificate, still served) looks at the half-renewed pair.
        #expect(try Self.get(url, cacert: old, user: "prometheus:n3w").status == 200)
        #expect(rename(renewed.cert, m.cert) == 0)
        var served = 0
        let renewedBy = Date().addingTimeInterval(10)
        repeat {
            usleep(300_000)
            _ = try Self.get(url, cacert: old, user: "prometheus:n3w") // the look that re-reads
            served = try Self.get(url, cacert: m.cert, user: "prometheus:n3w").status
        } while served != 200 && Date() < renewedBy
        #expect(served == 200, "the renewed certificate is served without a restart; log:\n\(agent.log.suffix(1500))")
        #expect(agent.stop() == 0)
    }

    @Test("a broken web config refuses to start, naming the file and the problem", arguments: [
        ("hash", "basic_auth_users:\n  prometheus: plaintext\n", "web.yml:2:3: error: basic_auth_users.prometheus is not a bcrypt hash"),
        ("yaml", "tls_server_config: [\n", "web.yml:2:1: error: invalid YAML"),
        ("cert", "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "tls_server_config.cert_file"),
        ("key", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n", "tls_server_config.key_file"),
        ("pair", "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n", "key_file"),
        ("file", "", "cannot read web config"),
    ])
    func brokenWebConfig(kind: String, yaml: String, message: String) throws {
        let m = try Material()
        if kind == "pair" { _ = try Material.certificate(in: m.dir, name: "other") }
        let web = kind == "file" ? m.dir.appendingPathComponent("absent.yml").path : try m.write(yaml)
        let agent = try RunningAgent(config: ServiceSurfaceTests.config(), arguments: ["--run-as-root", "--web.config.file", web])
        let status = agent.process.wait(timeout: 30)
        #expect(status == 1, "exit status; log:\n\(agent.log)")
        #expect(agent.log.contains(message) && agent.log.contains(web) && agent.log.contains("not starting"),
                "expected '\(message)' naming \(web):\n\(agent.log)")
        if kind == "pair" { #expect(agent.log.contains("does not belong to cert_file"), "\(agent.log)") }
        if kind == "cert" { #expect(agent.log.contains("missing.crt: cannot read (No such file or directory)"), "\(agent.log)") }
    }

    @Test("http.web_config_file in agent.yaml: agentctl config check reports the web config's errors; the agent refuses it")
    func configKey() throws {
        let m = try Material()
        let web = try m.write("basic_auth_users:\n  prometheus: plaintext\n")
        let config = ServiceSurfaceTests.config() + "\nhttp:\n  listen: 127.0.0.1:0\n  web_config_file: \(web)\n"
        let file = m.dir.appendingPathComponent("agent.yaml")
        try config.replacingOccurrences(of: "$DIR", with: m.dir.path).write(to: file, atomically: true, encoding: .utf8)
        let check = try Tools.run([Tools.agentctl, "config", "check", file.path], timeout: 60)
        #expect(check.status == 1 && check.stderr.contains("\(web):2:3: error: basic_auth_users.prometheus is not a bcrypt hash"),
                "\(check.status): \(check.stderr)")
        let agent = try RunningAgent(config: config)
        #expect(agent.process.wait(timeout: 30) == 1, "log:\n\(agent.log)")
        #expect(agent.log.contains("web config \(web) is not usable; not starting"), "\(agent.log)")
        _ = try m.write(m.secured)
        let good = try Tools.run([Tools.agentctl, "config", "check", file.path], timeout: 60)
        #expect(good.status == 0, "\(good.stderr)")
    }

    @Test("Debian's Prometheus scrapes the agent over TLS with basic auth (tls_config ca_file)")
    func prometheusScrapesOverTLS() throws {
        let m = try Material()
        let (agent, address) = try Self.startSecured(m)
        let port = try FakeStore.freePort()
        let name = "webscrape\(getpid())"
        let script = Tools.root.appendingPathComponent("Tests/support/prometheus.sh").path
        let options = """
                scheme: https
                tls_config:
                  ca_file: \(m.cert)
                basic_auth:
                  username: prometheus
                  password: s3cret
            """
        let started = try Tools.run(["/usr/bin/env", "PROBEAGENT_SCRAPE_OPTIONS=\(options)", script, "start", name, "\(port)", address], timeout: 90)
        try #require(started.status != 77, "Prometheus not installed: \(started.stderr)")
        try #require(started.status == 0, "prometheus.sh start: \(started.stderr)")
        defer { _ = try? Tools.run([script, "stop", name], timeout: 60) }
        let found = ServiceSurfaceTests.scrapedSeries(port: port)
        #expect(found?["protocol"] == "icmp", "Prometheus never got probe_sent_total over TLS; agent log:\n\(agent.log.suffix(2000))")
        let checks = try Self.get("https://\(address)/metrics", cacert: m.cert, user: "prometheus:s3cret")
        let page = String(decoding: checks.body, as: UTF8.self)
        #expect(Self.sample(page, "probeagent_http_auth_hash_checks_total") == 1, "Prometheus's scrapes and this one: one bcrypt")
        #expect(agent.stop() == 0)
    }

    @Test("mTLS: RequireAndVerifyClientCert lets in a client certificate signed by client_ca_file, no other")
    func clientCertificates() throws {
        let m = try Material()
        let ca = try Material.certificate(in: m.dir, name: "ca")
        let client = (cert: m.dir.appendingPathComponent("client.crt").path, key: m.dir.appendingPathComponent("client.key").path)
        let csr = m.dir.appendingPathComponent("client.csr").path
        for step in [["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=scraper",
                      "-keyout", client.key, "-out", csr],
                     ["openssl", "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "2",
                      "-out", client.cert]] {
            let out = try Tools.run(step, timeout: 30)
            try #require(out.status == 0, "\(step[1]): \(out.stderr)")
        }
        let web = try m.write("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
            """)
        let agent = try RunningAgent(config: ServiceSurfaceTests.config(), arguments: ["--run-as-root", "--web.config.file", web])
        let address = try #require(agent.waitForListeners(), "no listeners; log:\n\(agent.log)")
        let url = "https://\(address)/-/ready"
        #expect(try Self.get(url, cacert: m.cert, client: client).status != 0, "a client certificate from the CA is let in")
        let without = try Self.get(url, cacert: m.cert)
        #expect(without.status == 0 && without.curlExit != 0, "no client certificate: no TLS session")
        let foreign = try Self.get(url, cacert: m.cert, client: (m.cert, m.key))
        #expect(foreign.status == 0 && foreign.curlExit != 0, "a certificate the CA did not sign: no TLS session")
        #expect(agent.stop() == 0)
    }
}

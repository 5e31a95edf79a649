import Foundation
import Testing

/// remote_write over HTTPS with a client certificate (mTLS), basic auth and extra headers,
/// against a store that refuses clients without a certificate signed by its CA.
@Suite("probe-agent delivery over mTLS with auth")
struct SecureDeliveryTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
    static func makeCertificates(in dir: URL) throws -> (ca: String, serverCert: String, serverKey: String, clientCert: String, clientKey: String) {
        let d = dir.path
        let script = """
            set -e
            cd '\(d)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=probe-agent 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
            """
        let out = try Tools.run(["/bin/sh", "-c", script], timeout: 60)
        guard out.status == 0 else { throw NSError(domain: "certs", code: 1, userInfo: [NSLocalizedDescriptionKey: out.stderr]) }
        return ("\(d)/ca.pem", "\(d)/server.pem", "\(d)/server.key", "\(d)/client.pem", "\(d)/client.key")
    }

    static func config(url: String, spill: URL, tls: String) -> String {
        """
        spill:
          dir: \(spill.path)
        remote_write:
          url: \(url)
          flush_interval: 200ms
          timeout: 2s
          headers:
            X-Scope-OrgID: tenant-7
          basic_auth:
            username: probe
            password: s3cret
          tls:
        \(tls)
        monitors:
          - id: lo
            protocol: tcp-connect
            port: 1
            cadence: 1s
            timeout: 300ms
            targets: [127.0.0.1]
        """
    }

    @Test(.timeLimit(.minutes(3)))
    func deliversOverMutualTLSWithBasicAuthAndHeaders() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mtls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try Self.makeCertificates(in: dir)
        let store = try FakeStore(tls: (c.serverCert, c.serverKey, c.ca))

        // Without a client certificate the store refuses the handshake: nothing is delivered.
        let noCert = try RunningAgent(config: Self.config(url: store.url, spill: dir.appendingPathComponent("spill-a"),
                                                          tls: "    ca_file: \(c.ca)"))
        let refused = noCert.waitForStatus(timeout: 15) { $0.delivery?.mode == .degraded }
        #expect(refused != nil, "no client cert → TLS refused → degraded; log:\n\(noCert.log)")
        #expect(noCert.stop() == 0)
        #expect(try store.stats().requests == 0)

        let agent = try RunningAgent(config: Self.config(
            url: store.url, spill: dir.appendingPathComponent("spill-b"),
            tls: "    ca_file: \(c.ca)\n    cert_file: \(c.clientCert)\n    key_file: \(c.clientKey)"))
        let s = agent.waitForStatus(timeout: 15) { ($0.delivery?.resultsShipped ?? 0) >= 3 }
        #expect(s != nil, "log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let h = try store.headers(ofRequest: 1)
        #expect(h["Authorization"] == "Basic " + Data("probe:s3cret".utf8).base64EncodedString())
        #expect(h["X-Scope-OrgID"] == "tenant-7")
        #expect(h["Content-Encoding"] == "snappy" && h["X-Prometheus-Remote-Write-Version"] == "0.1.0")
        #expect(h["User-Agent"]?.hasPrefix("probe-agent/") == true)
    }
}

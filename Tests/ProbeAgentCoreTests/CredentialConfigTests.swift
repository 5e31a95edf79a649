import Foundation
import Testing
@testable import ProbeAgentCore

/// `remote_write.bearer_token_file`, `basic_auth.password_file` and `spill.dead_letter_max_bytes`:
/// parsing, the errors (with positions) and that no secret is ever shown.
@Suite("remote_write credentials from files")
struct CredentialConfigTests {
    /// A temp file holding `text`; removed by the caller.
    static func secretFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func bearerTokenFileIsReadAndTrimmedAtLoadTime() throws {
        let path = try Self.secretFile("tok-123\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try AgentConfig.load(yaml: RemoteWriteConfigTests.yaml("  bearer_token_file: \(path)"), file: "a.yaml")
        #expect(c.remoteWrite.first?.bearerTokenFile == path && c.remoteWrite.first?.bearerToken == nil)
        #expect(CredentialFile.read(path) == .success("tok-123"))
        #expect(CredentialFile.stamp(path) != nil)
    }

    @Test func passwordFileIsAcceptedBesideAUsername() throws {
        let path = try Self.secretFile("pw\r\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try AgentConfig.load(yaml: RemoteWriteConfigTests.yaml("  basic_auth:\n    username: u\n    password_file: \(path)"),
                                     file: "a.yaml")
        #expect(c.remoteWrite.first?.basicAuth?.passwordFile == path && c.remoteWrite.first?.basicAuth?.username == "u")
        #expect(CredentialFile.read(path) == .success("pw"))
    }

    @Test func missingOrEmptyFilesAreErrorsNamingTheFileAtTheKey() throws {
        let empty = try Self.secretFile("\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let missing = "/nonexistent/probe-agent/token"
        var errors = configErrors(RemoteWriteConfigTests.yaml("  bearer_token_file: \(missing)"))
        #expect(errors.count == 1)
        #expect(errors.first?.position == "7:22", "\(errors)")
        #expect(errors.first?.description.contains("remote_write.bearer_token_file '\(missing)': cannot read (No such file or directory)") == true,
                "\(errors)")
        errors = configErrors(RemoteWriteConfigTests.yaml("  basic_auth:\n    username: u\n    password_file: \(empty)"))
        #expect(errors.count == 1 && errors.first?.line == 9, "\(errors)")
        #expect(errors.first?.message == "remote_write.basic_auth.password_file '\(empty)' is empty", "\(errors)")
    }

    @Test func inlineAndFileFormsAreExclusive() throws {
        let path = try Self.secretFile("t")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var errors = configErrors(RemoteWriteConfigTests.yaml("  bearer_token: abc\n  bearer_token_file: \(path)"))
        #expect(errors.contains { $0.line == 8 && $0.message.contains("set only one of basic_auth, bearer_token and bearer_token_file") },
                "\(errors)")
        errors = configErrors(RemoteWriteConfigTests.yaml("  basic_auth:\n    username: u\n    password: p\n    password_file: \(path)"))
        #expect(errors.contains { $0.line == 10 && $0.message == "remote_write.basic_auth: set password or password_file, not both" },
                "\(errors)")
        errors = configErrors(RemoteWriteConfigTests.yaml("  basic_auth:\n    username: u"))
        #expect(errors.contains { $0.line == 8 && $0.message.contains("missing required key 'password' (or 'password_file')") },
                "\(errors)")
        errors = configErrors(RemoteWriteConfigTests.yaml("  basic_auth:\n    username: u\n    password: p\n  bearer_token_file: \(path)"))
        #expect(errors.contains { $0.line == 10 && $0.message.contains("found basic_auth and bearer_token_file") }, "\(errors)")
    }

    @Test func noSecretInDescriptionsDumpsOrErrors() throws {
        let secret = "hunter2-sekrit"
        for extra in ["  bearer_token: \(secret)",
                      "  basic_auth:\n    username: probe\n    password: \(secret)",
                      "  headers:\n    Authorization: Bearer \(secret)"] {
            let c = try AgentConfig.load(yaml: RemoteWriteConfigTests.yaml(extra), file: "a.yaml")
            let rw = try #require(c.remoteWrite.first)
            var dumped = ""
            dump(c, to: &dumped)
            var dumpedRW = ""
            dump(rw, to: &dumpedRW)
            for shown in ["\(c)", String(describing: c), String(reflecting: c), "\(rw)", String(reflecting: rw),
                          "\(rw.basicAuth as Any)", dumped, dumpedRW] {
                #expect(!shown.contains(secret), "secret shown: \(shown)")
            }
            if !extra.contains("headers") { #expect("\(c)".contains("<secret>"), "\(c)") }
        }
        // An error about the section next to a secret does not quote it either.
        let errors = configErrors(RemoteWriteConfigTests.yaml("  bearer_token: \(secret)\n  basic_auth:\n    username: u\n    password: \(secret)"))
        #expect(!errors.isEmpty && !errors.description.contains(secret), "\(errors)")
    }

    @Test func deadLetterCapTakesByteSizes() {
        let spill = "spill:\n  dir: /tmp/x\n  dead_letter_max_bytes: 2MiB\n"
        let c = try? AgentConfig.load(yaml: RemoteWriteConfigTests.yaml("") + "\n" + spill, file: "a.yaml")
        #expect(c?.spill.deadLetterMaxBytes == 2 << 20)
        #expect(SpillConfig().deadLetterMaxBytes == 64 << 20)
        let errors = configErrors(RemoteWriteConfigTests.yaml("") + "\nspill:\n  dead_letter_max_bytes: lots\n")
        #expect(errors.contains { $0.line == 9 && $0.message.contains("invalid size 'lots' for spill.dead_letter_max_bytes") }, "\(errors)")
    }
}

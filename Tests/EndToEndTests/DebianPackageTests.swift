import AdminAPI
import Foundation
import Testing

/// The .deb from scripts/package.sh: what it holds and declares, lintian, and its whole life
/// (install, reinstall and upgrade over an edited conffile, remove, purge) with this machine's
/// dpkg in a throw-away root — never the host's own system.
@Suite(
    "Debian package",
    .enabled(if: PackageBuild.toolsInstalled, "dpkg-dev or help2man missing: scripts/install-deps.sh"))
struct DebianPackageTests {
    static func field(_ deb: String, _ name: String) throws -> String {
        try Tools.run(["dpkg-deb", "--field", deb, name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Package names in a Depends field (alternatives and version constraints dropped).
    static func dependencyNames(_ depends: String) -> [String] {
        depends.split(separator: ",").map { clause in
            String(clause.split(separator: "|")[0].trimmingCharacters(in: .whitespaces).prefix { $0 != " " && $0 != "(" })
        }
    }

    @Test("control fields, conffiles, maintainer scripts, contents", .timeLimit(.minutes(50)))
    func declaresWhatItHolds() async throws {
        let built = try await PackageBuild.deb.value
        let deb = built.deb
        #expect(try Self.field(deb, "Package") == "probe-agent")
        #expect(built.version == AgentVersion.current)
        #expect(URL(fileURLWithPath: deb).lastPathComponent
                == "probe-agent_\(AgentVersion.current)_\(try Tools.run(["dpkg", "--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)).deb")
        let depends = try Self.field(deb, "Depends")
        let names = Self.dependencyNames(depends)
        for needed in ["libc6", "liburing2", "libcap2", "libsnappy1v5", "passwd"] {
            #expect(names.contains(needed), "Depends: \(depends)")
        }
        #expect(!depends.lowercased().contains("swift"), "Depends: \(depends)")

        let dir = try PackageBuild.unpacked(built)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Every library the binaries load comes from a package in Depends (the equivalent of
        // dpkg-shlibdeps, checked independently with ldd and dpkg -S).
        for name in ["probe-agent", "agentctl"] {
            let ldd = try Tools.run(["ldd", dir.appendingPathComponent("usr/bin/\(name)").path])
            for line in ldd.stdout.split(separator: "\n") where line.contains("=> /") {
                let path = String(line.split(separator: " ")[2])
                let owner = try Tools.run(["dpkg", "-S", path])
                let real = owner.status == 0 ? owner : try Tools.run(["dpkg", "-S", "/usr" + path]) // merged /usr
                let package = String(real.stdout.prefix { $0 != ":" })
                #expect(real.status == 0 && names.contains(package), "\(name) loads \(path) from '\(package)', Depends: \(depends)")
            }
        }

        let conffiles = try Tools.run(["dpkg-deb", "--info", deb, "conffiles"])
        #expect(conffiles.stdout == "/etc/probe-agent/agent.yaml\n")
        let control = try Tools.run(["dpkg-deb", "--info", deb])
        for script in ["postinst", "prerm", "postrm"] {
            // dpkg-deb marks executable control files with "*".
            #expect(control.stdout.range(of: "lines +\\* +\(script) ", options: .regularExpression) != nil,
                    "\(script) missing or not executable in:\n\(control.stdout)")
            let text = try Tools.run(["dpkg-deb", "--info", deb, script]).stdout
            let file = dir.appendingPathComponent("\(script).sh").path
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let syntax = try Tools.run(["sh", "-n", file])
            #expect(syntax.status == 0, "\(script): \(syntax.stderr)")
        }
        let md5sums = try Tools.run(["dpkg-deb", "--info", deb, "md5sums"]).stdout
        #expect(md5sums.contains("usr/bin/probe-agent") && !md5sums.contains("etc/probe-agent"), "md5sums:\n\(md5sums)")

        let listing = try Tools.run(["dpkg-deb", "--contents", deb]).stdout
        for (mode, path) in [("-rwxr-xr-x", "./usr/bin/probe-agent"), ("-rwxr-xr-x", "./usr/bin/agentctl"),
                             ("-rw-r--r--", "./lib/systemd/system/probe-agent.service"),
                             ("-rw-r--r--", "./etc/probe-agent/agent.yaml"),
                             ("-rw-r--r--", "./usr/share/man/man1/probe-agent.1.gz"),
                             ("-rw-r--r--", "./usr/share/man/man1/agentctl.1.gz"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/copyright"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/changelog.gz"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/examples/agent.yaml"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/examples/web-config.yml"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/examples/grafana/probe-agent-fleet.json"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/examples/grafana/probe-agent-agent.json"),
                             ("-rw-r--r--", "./usr/share/doc/probe-agent/examples/prometheus/probe-agent-rules.yml")] {
            let line = listing.split(separator: "\n").first { $0.hasSuffix(" " + path) }
            #expect(line?.hasPrefix(mode + " root/root") == true, "\(path): \(line.map(String.init) ?? "missing")")
        }

        // The unit is the repository's, pointed at /usr/bin.
        let unit = try String(contentsOf: dir.appendingPathComponent("lib/systemd/system/probe-agent.service"), encoding: .utf8)
        let repoUnit = try String(contentsOf: Tools.root.appendingPathComponent("config/probe-agent.service"), encoding: .utf8)
        let settings = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("#") } }
        #expect(settings(unit) == settings(repoUnit.replacingOccurrences(of: "ExecStart=/usr/local/bin/", with: "ExecStart=/usr/bin/")))
        #expect(unit.contains("\nExecStart=/usr/bin/probe-agent --config /etc/probe-agent/agent.yaml\n"))

        // The conffile is valid and probes nothing but loopback.
        let conffile = dir.appendingPathComponent("etc/probe-agent/agent.yaml").path
        let check = try Tools.run([Tools.agentctl, "config", "check", conffile])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let targets = try String(contentsOfFile: conffile, encoding: .utf8).split(separator: "\n")
            .filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("targets:") }
        #expect(targets == ["    targets: [127.0.0.1, \"::1\"]"])

        // Man pages made from --help, every agentctl subcommand in its page.
        let agentPage = try Tools.run(["zcat", dir.appendingPathComponent("usr/share/man/man1/probe-agent.1.gz").path]).stdout
        #expect(agentPage.contains(".TH PROBE-AGENT \"1\"") && agentPage.contains("\\-\\-config"), "\(agentPage.prefix(400))")
        let ctlPage = try Tools.run(["zcat", dir.appendingPathComponent("usr/share/man/man1/agentctl.1.gz").path]).stdout
        for sub in ["status", "queue-stats", "monitors", "reload", "events", "probe", "trace", "config check", "doctor"] {
            #expect(ctlPage.contains(".SS \"agentctl \(sub)\""), "agentctl.1 lacks \(sub)")
        }
        // Each linked package's licence, as the copyright file lists them.
        let copyright = try String(contentsOf: dir.appendingPathComponent("usr/share/doc/probe-agent/copyright"), encoding: .utf8)
        for name in ["swift-nio", "Yams", "hummingbird", "swift-argument-parser"] {
            #expect(copyright.contains("\n \(name)\n"), "copyright does not list \(name)")
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("usr/share/doc/probe-agent/licenses/\(name)").path))
        }
    }

    @Test("lintian: no error or warning that is not overridden", .timeLimit(.minutes(50)),
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/lintian"), "lintian missing: scripts/install-deps.sh"))
    func lintianClean() async throws {
        let built = try await PackageBuild.deb.value
        // Overridden tags are listed as "O:" (with --show-overrides they would count for
        // --fail-on, so the verdict is read from the tags instead).
        let lint = try await Tools.runAwaiting(["lintian", "--fail-on", "none", "--show-overrides", built.deb], timeout: 600)
        #expect(lint.status == 0, "lintian:\n\(lint.stdout)\(lint.stderr)")
        let tags = lint.stdout.split(separator: "\n").filter { $0.hasPrefix("E: ") || $0.hasPrefix("W: ") }
        #expect(tags.isEmpty, "lintian:\n\(tags.joined(separator: "\n"))")
        let overridden = lint.stdout.split(separator: "\n").filter { $0.hasPrefix("O: ") }
        #expect(overridden.count == 4, "overrides used: \(overridden)")
        print("lintian \(built.deb): no error or warning; overridden:\n\(overridden.joined(separator: "\n"))")
    }

    @Test("install, reinstall, upgrade keeping an edited conffile, remove, purge — in a throw-away root",
          .enabled(if: Tools.isRoot, "dpkg needs root to set owners"), .timeLimit(.minutes(50)))
    func lifecycleInThrowawayRoot() async throws {
        let built = try await PackageBuild.deb.value
        let host = try HostState()
        let root = try ThrowawayRoot(depends: try Self.field(built.deb, "Depends"))
        defer { root.remove() }

        // Install.
        try root.dpkg(["--install", built.deb])
        #expect(try root.status() == "install ok installed \(built.version)")
        #expect(FileManager.default.isExecutableFile(atPath: root.path("usr/bin/probe-agent")))
        let shipped = try String(contentsOf: Tools.root.appendingPathComponent("packaging/agent.yaml"), encoding: .utf8)
        #expect(try String(contentsOfFile: root.path("etc/probe-agent/agent.yaml"), encoding: .utf8) == shipped)
        let user = try #require(try root.line(in: "etc/passwd", startingWith: "probe-agent:"), "no user probe-agent")
        let fields = user.split(separator: ":", omittingEmptySubsequences: false)
        #expect(fields.count == 7 && Int(fields[2])! < 1000 && fields[5] == "/var/lib/probe-agent" && fields[6] == "/usr/sbin/nologin", "\(user)")
        #expect(try root.line(in: "etc/group", startingWith: "probe-agent:") != nil)
        let wants = "etc/systemd/system/multi-user.target.wants/probe-agent.service"
        #expect(try root.link(wants) == "/lib/systemd/system/probe-agent.service", "not enabled")

        // Reinstall over itself, then upgrade to a newer version, with the conffile edited.
        let edited = shipped + "# edited by the operator\n"
        try edited.write(toFile: root.path("etc/probe-agent/agent.yaml"), atomically: true, encoding: .utf8)
        try root.dpkg(["--install", built.deb])
        #expect(try root.status() == "install ok installed \(built.version)")
        let newer = try root.repack(built.deb, version: built.version + "+1")
        try root.dpkg(["--install", newer])
        #expect(try root.status() == "install ok installed \(built.version)+1")
        #expect(try String(contentsOfFile: root.path("etc/probe-agent/agent.yaml"), encoding: .utf8) == edited)
        #expect(try root.line(in: "etc/passwd", startingWith: "probe-agent:") == user, "the user changed on upgrade")
        #expect(try root.link(wants) == "/lib/systemd/system/probe-agent.service")

        // Remove: binaries and unit go, the edited conffile and the enablement stay; the unit is
        // masked so the leftover enablement cannot start a missing binary.
        try root.dpkg(["--remove", "probe-agent"])
        #expect(try root.status() == "deinstall ok config-files \(built.version)+1")
        #expect(!FileManager.default.fileExists(atPath: root.path("usr/bin/probe-agent")))
        #expect(!FileManager.default.fileExists(atPath: root.path("lib/systemd/system/probe-agent.service")))
        #expect(try String(contentsOfFile: root.path("etc/probe-agent/agent.yaml"), encoding: .utf8) == edited)
        #expect(try root.link("etc/systemd/system/probe-agent.service") == "/dev/null", "not masked after remove")

        // Purge: config, enablement, mask and the agent's data go; the system user stays.
        try FileManager.default.createDirectory(atPath: root.path("var/lib/private/probe-agent/spill"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.path("var/lib/probe-agent"), withDestinationPath: "private/probe-agent")
        try root.dpkg(["--purge", "probe-agent"])
        #expect(try root.status() == nil)
        for gone in ["etc/probe-agent", wants, "etc/systemd/system/probe-agent.service", "var/lib/probe-agent",
                     "var/lib/private/probe-agent", "var/lib/systemd/deb-systemd-helper-enabled/probe-agent.service.dsh-also"] {
            #expect(!root.exists(gone), "\(gone) left after purge")
        }
        #expect(try root.line(in: "etc/passwd", startingWith: "probe-agent:") == user)

        #expect(try HostState() == host, "the host's users, dpkg database or systemd units changed")
    }
}

/// The parts of the host a stray maintainer script would change.
struct HostState: Equatable {
    var files: [String: Data?] = [:]
    var links: [String: String?] = [:]

    init() throws {
        for f in ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/var/lib/dpkg/status"] {
            files[f] = FileManager.default.contents(atPath: f)
        }
        for l in ["/etc/systemd/system/multi-user.target.wants/probe-agent.service", "/etc/systemd/system/probe-agent.service",
                  "/lib/systemd/system/probe-agent.service", "/usr/bin/probe-agent"] {
            links[l] = (try? FileManager.default.destinationOfSymbolicLink(atPath: l))
                ?? (FileManager.default.fileExists(atPath: l) ? "(file)" : nil)
        }
    }
}

/// An empty root for `dpkg --root`: a dpkg database that knows only the packages the .deb
/// depends on (their stanzas copied from this machine's), and users and groups with root alone.
/// Maintainer scripts run on the host with DPKG_ROOT set (--force-script-chrootless).
final class ThrowawayRoot {
    let dir: String

    init(depends: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dpkg-root-\(UUID().uuidString)").path
        let fm = FileManager.default
        for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log", "etc"] {
            try fm.createDirectory(atPath: "\(dir)/\(d)", withIntermediateDirectories: true)
        }
        var status = ""
        for name in DebianPackageTests.dependencyNames(depends) {
            let stanza = try Tools.run(["dpkg-query", "--status", name])
            guard stanza.status == 0 else { throw PackageBuild.Failure(description: "\(name) is not installed here: \(stanza.stderr)") }
            status += stanza.stdout.trimmingCharacters(in: .newlines) + "\n\n"
        }
        try status.write(toFile: "\(dir)/var/lib/dpkg/status", atomically: true, encoding: .utf8)
        try "".write(toFile: "\(dir)/var/lib/dpkg/available", atomically: true, encoding: .utf8)
        try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: "\(dir)/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\n".write(toFile: "\(dir)/etc/group", atomically: true, encoding: .utf8)
        try "root:*:19000:0:99999:7:::\n".write(toFile: "\(dir)/etc/shadow", atomically: true, encoding: .utf8)
        try "root:*::\n".write(toFile: "\(dir)/etc/gshadow", atomically: true, encoding: .utf8)
        if let defs = fm.contents(atPath: "/etc/login.defs") { fm.createFile(atPath: "\(dir)/etc/login.defs", contents: defs) }
    }

    func path(_ relative: String) -> String { "\(dir)/\(relative)" }
    func exists(_ relative: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path(relative))) != nil
    }
    func link(_ relative: String) throws -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path(relative)) }
    func line(in file: String, startingWith prefix: String) throws -> String? {
        try String(contentsOfFile: path(file), encoding: .utf8).split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    /// dpkg on this root; fails the test with dpkg's output when it fails.
    func dpkg(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = try Tools.run(["dpkg", "--root=\(dir)", "--log=\(dir)/var/log/dpkg.log", "--force-script-chrootless"] + args,
                                timeout: 120)
        #expect(out.status == 0, "dpkg \(args.joined(separator: " ")):\n\(out.stdout)\(out.stderr)", sourceLocation: sourceLocation)
    }

    /// "Status Version" of probe-agent, nil when dpkg no longer knows it.
    func status() throws -> String? {
        let q = try Tools.run(["dpkg-query", "--admindir=\(dir)/var/lib/dpkg", "--show", "--showformat=${Status} ${Version}", "probe-agent"])
        return q.status == 0 && !q.stdout.hasPrefix("unknown") ? q.stdout : nil
    }

    /// The same package with another version (an upgrade that changes nothing else).
    func repack(_ deb: String, version: String) throws -> String {
        let tree = path("repack"), out = path("probe-agent_\(version).deb")
        for args in [["dpkg-deb", "--raw-extract", deb, tree],
                     ["sed", "-i", "s/^Version: .*/Version: \(version)/", "\(tree)/DEBIAN/control"],
                     ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, out]] {
            let r = try Tools.run(args, timeout: 300)
            guard r.status == 0 else { throw PackageBuild.Failure(description: "\(args): \(r.stderr)") }
        }
        try FileManager.default.removeItem(atPath: tree)
        return out
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

import Testing
@testable import ProbeAgentCore

/// `process:` (who the agent runs as) and the decision taken from it at start.
@Suite struct ConfigProcessTests {
    static let monitors = "monitors: [{id: a, protocol: icmp, targets: [127.0.0.1]}]\n"

    @Test func readsUserGroupAndRunAsRoot() throws {
        let config = try AgentConfig.load(yaml: Self.monitors + "process:\n  user: probe-agent\n  group: \"65534\"\n", file: "a.yaml")
        #expect(config.process == ProcessConfig(user: "probe-agent", group: "65534", runAsRoot: false))
        let root = try AgentConfig.load(yaml: Self.monitors + "process: {run_as_root: true}\n", file: "a.yaml")
        #expect(root.process == ProcessConfig(runAsRoot: true))
        #expect(try AgentConfig.load(yaml: Self.monitors, file: "a.yaml").process == ProcessConfig())
    }

    @Test func badValuesAreErrorsWithPositions() {
        let errors = configErrors(Self.monitors + "process:\n  user: \"two words\"\n  run_as_root: yes\n  uid: 3\n")
        #expect(errors.map(\.message) == [
            "process.user 'two words' must be a user or group name or a numeric id",
            "expected true or false for process.run_as_root, found a boolean",
            "unknown key 'uid' in process",
        ])
        #expect(errors.map(\.position) == ["3:9", "4:16", "5:3"])
    }

    @Test func userAndRunAsRootContradict() {
        let errors = configErrors(Self.monitors + "process: {user: nobody, run_as_root: true}\n")
        #expect(errors.map(\.message) == ["process.user and process.run_as_root: true contradict each other: set only one"])
    }

    @Test func notRootKeepsItsUser() {
        let d = RunAsDecision.decide(effectiveUID: 998, config: ProcessConfig(user: "probe-agent"), user: nil, group: nil, runAsRoot: false)
        #expect(d == .keep(requested: "probe-agent"))
        #expect(RunAsDecision.decide(effectiveUID: 998, config: ProcessConfig(), user: nil, group: nil, runAsRoot: false)
            == .keep(requested: nil))
    }

    @Test func rootBecomesTheUserTheCommandLineOrConfigNames() {
        let config = ProcessConfig(user: "probe-agent", group: "probe")
        #expect(RunAsDecision.decide(effectiveUID: 0, config: config, user: nil, group: nil, runAsRoot: false)
            == .become(user: "probe-agent", group: "probe"))
        #expect(RunAsDecision.decide(effectiveUID: 0, config: config, user: "nobody", group: nil, runAsRoot: false)
            == .become(user: "nobody", group: "probe"), "--user wins over process.user")
        #expect(RunAsDecision.decide(effectiveUID: 0, config: config, user: "nobody", group: "nogroup", runAsRoot: false)
            == .become(user: "nobody", group: "nogroup"))
        #expect(RunAsDecision.decide(effectiveUID: 0, config: ProcessConfig(runAsRoot: true), user: "nobody", group: nil, runAsRoot: false)
            == .become(user: "nobody", group: nil), "--user wins over run_as_root")
    }

    @Test func rootStaysRootOnlyWhenTold() {
        #expect(RunAsDecision.decide(effectiveUID: 0, config: ProcessConfig(runAsRoot: true), user: nil, group: nil, runAsRoot: false) == .stayRoot)
        #expect(RunAsDecision.decide(effectiveUID: 0, config: ProcessConfig(), user: nil, group: nil, runAsRoot: true) == .stayRoot)
    }

    @Test func rootWithNoUserIsRefusedWithTheWaysOut() {
        guard case .refuse(let why) = RunAsDecision.decide(effectiveUID: 0, config: ProcessConfig(), user: nil, group: nil, runAsRoot: false) else {
            Issue.record("root without a user must be refused")
            return
        }
        for way in ["process.user", "--user", "process.run_as_root: true", "--run-as-root"] {
            #expect(why.contains(way), "\(why)")
        }
        guard case .refuse = RunAsDecision.decide(effectiveUID: 0, config: ProcessConfig(group: "nogroup"), user: nil, group: nil, runAsRoot: true) else {
            Issue.record("a group without a user must be refused")
            return
        }
    }
}

import Testing
@testable import ProbeAgentCore

/// One test per class of config error: message text and position.
@Suite struct ConfigErrorTests {
    @Test func unknownKeySuggestsNearest() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1]
                cadance: 3s
            """)
        #expect(errors.count == 1)
        #expect(errors.first?.message == "unknown key 'cadance' in monitor; did you mean 'cadence'?")
        #expect(errors.first?.line == 5)
        #expect(errors.first?.column == 5)
        #expect(errors.first?.description == "agent.yaml:5:5: error: unknown key 'cadance' in monitor; did you mean 'cadence'?")
    }

    @Test func unknownTopLevelKey() {
        let errors = configErrors("monitors: []\nremote_wirte:\n  url: http://127.0.0.1:9090\n")
        #expect(errors.map(\.message) == ["unknown key 'remote_wirte' in the top level; did you mean 'remote_write'?"])
        #expect(errors.first?.position == "2:1")
    }

    @Test func unknownLoopPriority() {
        let errors = configErrors("scheduler:\n  loop_priority: high\nmonitors: []\n")
        #expect(errors.map(\.message) == ["unknown scheduler.loop_priority 'high'; expected one of normal, realtime"])
        #expect(errors.first?.position == "2:18")
    }

    @Test func badDuration() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1]
                cadence: 3 seconds
            """)
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasPrefix("invalid duration '3 seconds' for cadence") == true)
        #expect(errors.first?.position == "5:14")
    }

    @Test func timeoutNotBelowCadence() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1]
                cadence: 2s
                timeout: 2s
            """)
        #expect(errors.map(\.message) == ["timeout 2s must be less than cadence 2s in monitor 'a'"])
        #expect(errors.first?.position == "6:14")
    }

    @Test func inheritedTimeoutNotBelowCadence() {
        let errors = configErrors("""
            defaults:
              timeout: 2s
            monitors:
              - id: fast
                protocol: icmp
                targets: [127.0.0.1]
                cadence: 1s
            """)
        #expect(errors.map(\.message) == ["timeout 2s (from defaults) must be less than cadence 1s in monitor 'fast'"])
        #expect(errors.first?.position == "7:14")
    }

    @Test func duplicateID() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1]
              - id: a
                protocol: icmp
                targets: [127.0.0.2]
            """)
        #expect(errors.map(\.message) == ["duplicate monitor id 'a' (first defined at line 2)"])
        #expect(errors.first?.position == "5:9")
    }

    @Test func unknownDependsOn() {
        let errors = configErrors("""
            monitors:
              - id: router
                protocol: icmp
                targets: [127.0.0.1]
              - id: web
                protocol: icmp
                targets: [127.0.0.2]
                depends_on: [routr]
            """)
        #expect(errors.map(\.message) == ["depends_on names unknown monitor 'routr'; did you mean 'router'?"])
        #expect(errors.first?.position == "8:18")
    }

    @Test func dependencyCyclePrintsTheCycle() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1]
                depends_on: [b]
              - id: b
                protocol: icmp
                targets: [127.0.0.2]
                depends_on: [c]
              - id: c
                protocol: icmp
                targets: [127.0.0.3]
                depends_on: [a]
              - id: self
                protocol: icmp
                targets: [127.0.0.4]
                depends_on: [self]
            """)
        #expect(errors.map(\.message) == ["dependency cycle: a -> b -> c -> a", "dependency cycle: self -> self"])
        #expect(errors.first?.position == "5:18")
        #expect(errors.last?.position == "17:18")
    }

    @Test func invalidAddress() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets:
                  - 127.0.0.1
                  - 127.0.0.256
                  - bad_host!
                  - "::1::2"
            """)
        #expect(errors.map(\.message) == [
            "invalid address '127.0.0.256' in monitor 'a': not an IPv4 or IPv6 literal nor a valid hostname",
            "invalid address 'bad_host!' in monitor 'a': not an IPv4 or IPv6 literal nor a valid hostname",
            "invalid address '::1::2' in monitor 'a': not an IPv4 or IPv6 literal nor a valid hostname",
        ])
        #expect(errors.map(\.line) == [6, 7, 8])
        #expect(errors.map(\.column) == [9, 9, 9])
    }

    @Test func portOutOfRangeAndMissing() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: tcp-connect
                targets: [127.0.0.1]
                port: 70000
              - id: b
                protocol: tcp-syn
                targets: [127.0.0.1]
            """)
        #expect(errors.map(\.message) == [
            "port 70000 is out of range 1..65535",
            "missing required key 'port' in monitor 'b' (protocol tcp-syn needs one)",
        ])
        #expect(errors.first?.position == "5:11")
        #expect(errors.last?.position == "6:5")
    }

    @Test func wrongType() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: 127.0.0.1
                labels: [x]
            queue:
              mem_items_cap: lots
            """)
        #expect(errors.map(\.message) == [
            "expected a list for targets, found a string",
            "expected a mapping for labels of monitor 'a', found a list",
            "expected an integer or 'auto' for queue.mem_items_cap, found a string",
        ])
        #expect(errors.map(\.line) == [4, 5, 7])
    }

    @Test func invalidAndReservedLabels() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                targets: [127.0.0.1]
                labels:
                  target: x
                  2bad: y
            """)
        #expect(errors.count == 2)
        #expect(errors[0].message.hasPrefix("label 'target' in labels of monitor 'a' collides"))
        #expect(errors[1].message.hasPrefix("invalid label name '2bad'"))
        #expect(errors.map(\.line) == [6, 7])
    }

    @Test func collectsEveryErrorSortedByPosition() {
        let errors = configErrors("""
            log_level: loud
            monitors:
              - id: a
                protocol: udp
                targets: [999.1.1.1]
                cadence: soon
            http:
              listen: nowhere
            """)
        #expect(errors.count == 5)
        #expect(errors.map(\.line) == [1, 4, 5, 6, 8])
        #expect(errors[1].message == "unknown protocol 'udp' in monitor 'a'; expected one of icmp, tcp-syn, tcp-connect")
    }

    @Test func yamlSyntaxErrorHasPosition() {
        let errors = configErrors("monitors:\n  - id: a\n    targets: [127.0.0.1\n")
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasPrefix("invalid YAML") == true)
        #expect((errors.first?.line ?? 0) >= 3)
    }

    @Test func missingMonitorsAndEmptyDocument() {
        #expect(configErrors("").map(\.message) == ["missing required key 'monitors' in the top level"])
        #expect(configErrors("log_level: info\n").first?.message == "missing required key 'monitors' in the top level")
    }
}

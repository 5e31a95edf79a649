// fuzz-config: a config file's bytes → AgentConfig.load(bytes:file:) (what reading a file does:
// UTF-8 check, the size/depth/alias limits, Yams, validation) → what the agent builds from a
// config it accepted (the schedule, a reload of the same config).
//
// Contract: any bytes either load or throw ConfigErrors whose every entry names a position
// and says what is wrong; a config that loads builds a schedule, polls at any time after its
// start, and reloading it unchanged keeps every monitor as it was. Never a trap.

import FuzzSupport
import ProbeAgentCore

/// What `${VAR}` expands to: fixed, so an input means the same on every run and machine.
let environment = ConfigEnvironment(variables: ["ENV": "prod", "TARGET": "198.18.1.1", "EMPTY": ""], hostname: "fuzz-host")

Fuzzer.main(seeds: ConfigSeeds.all) { bytes in
    let config: AgentConfig
    do throws(ConfigErrors) {
        config = try AgentConfig.load(bytes: Array(bytes), file: "fuzz.yaml", environment: environment)
    } catch {
        Fuzzer.check(!error.errors.isEmpty, "ConfigErrors without an error")
        for e in error.errors {
            Fuzzer.check(e.line >= 0 && e.column >= 0 && !e.message.isEmpty, "error without position or message: \(e)")
        }
        return
    }
    _ = config.memoryQueueCapacity
    _ = String(describing: config.remoteWrite)
    let start: UInt64 = 5_000_000_000_000
    var schedule = Schedule(config: config, now: start)
    for offset: UInt64 in [0, 10_000_000, 3_000_000_000, 3_600_000_000_000] {
        for batch in schedule.poll(now: start + offset) {
            for probe in batch.probes { _ = schedule.complete(probe.cookie) }
        }
    }
    let report = schedule.apply(config, now: start + 3_600_000_000_000)
    Fuzzer.check(report.changed.isEmpty && report.added.isEmpty && report.removed.isEmpty,
                 "reloading the same config changed \(report)")
}

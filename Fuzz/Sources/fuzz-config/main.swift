// fuzz-config: YAML text → AgentConfig.load(yaml:file:) → what the agent builds from a config
// it accepted (the schedule, a reload of the same config). The input is the document's bytes
// (invalid UTF-8 is replaced, as reading a file would).
//
// Contract: any text either loads or throws ConfigErrors whose every entry names a position
// and says what is wrong; a config that loads builds a schedule, polls at any time after its
// start, and reloading it unchanged keeps every monitor as it was. Never a trap.

import FuzzSupport
import ProbeAgentCore

/// What `${VAR}` expands to: fixed, so an input means the same on every run and machine.
let environment = ConfigEnvironment(variables: ["ENV": "prod", "TARGET": "198.18.1.1", "EMPTY": ""], hostname: "fuzz-host")

Fuzzer.main(seeds: ConfigSeeds.all) { bytes in
    let yaml = String(decoding: bytes, as: UTF8.self)
    // Workaround, until the YAML size/depth/alias limits land in the loader: Yams overflows the
    // stack on deep nesting (5,000 levels) before any limit of ours could apply, and that is a
    // known finding, not one to rediscover on every run.
    guard NestingGuard.bound(yaml) <= NestingGuard.limit else { return }
    let config: AgentConfig
    do throws(ConfigErrors) {
        config = try AgentConfig.load(yaml: yaml, file: "fuzz.yaml", environment: environment)
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

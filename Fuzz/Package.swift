// swift-tools-version:6.1
import Foundation
import PackageDescription

// The Swift fuzz targets (libFuzzer). Built only by scripts/fuzz.sh, into its own scratch path
// with `-sanitize=fuzzer,address`; the main package never builds this directory.
//
//   fuzz-config         YAML text → AgentConfig (AgentConfig.load) → Schedule
//   fuzz-spill-log      segment files + read.pos → SpillLog recovery, read, commit, append, reopen
//   fuzz-result-record  bytes → ResultRecord / ResultBlock, re-encoded and decoded again
//   fuzz-store-answer   status, headers, body → StoreAnswer → StoreVerdict → Backoff
//   fuzz-web            Accept-Encoding, Authorization, web config YAML → ContentCoding,
//                       BasicCredentials, WebConfig
//   fuzz-sd             a discovery answer (file_sd file, http_sd body) → TargetGroup.parse
//
// Each target's main.swift hands its test to FuzzSupport, which owns libFuzzer's entry point
// and the `--write-seeds DIR` mode that writes the target's committed seed corpus.

// A path dependency is named after its directory, which is the checkout's name (main, wt-x, …).
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent()
let agent = root.lastPathComponent.lowercased()

func fuzzTarget(_ name: String, _ products: [String], local: [Target.Dependency] = []) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + local + products.map { .product(name: $0, package: agent) })
}

let package = Package(
    name: "ProbeAgentFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: root.path)],
    targets: [
        // Declares LLVMFuzzerRunDriver (libFuzzer's driver, linked by -sanitize=fuzzer).
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"]),
        // Probe results and spill-log payloads the seed corpora are made of.
        .target(name: "FuzzSamples", dependencies: [
            .product(name: "ProbeAgentCore", package: agent), .product(name: "ResultBlocks", package: agent),
        ]),
        fuzzTarget("fuzz-config", ["ProbeAgentCore"]),
        fuzzTarget("fuzz-spill-log", ["SpillLog", "ResultBlocks"], local: ["FuzzSamples"]),
        fuzzTarget("fuzz-result-record", ["ProbeAgentCore", "ResultBlocks", "RemoteWrite"], local: ["FuzzSamples"]),
        fuzzTarget("fuzz-store-answer", ["ProbeAgentCore"]),
        fuzzTarget("fuzz-web", ["ProbeAgentCore"]),
        fuzzTarget("fuzz-sd", ["ProbeAgentCore"]),
    ]
)

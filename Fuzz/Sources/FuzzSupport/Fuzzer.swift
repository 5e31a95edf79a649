// The part every fuzz target shares: libFuzzer's entry point, the seed-writing mode and the
// contract check.
//
// A target's main.swift is one call:
//
//     Fuzzer.main(seeds: Seeds.all) { input in ... }
//
// `fuzz-x --write-seeds DIR` replaces the files in DIR with the target's seeds (how
// Fuzz/corpus/<target>/ is made; scripts/fuzz.sh --regen-corpus); any other arguments are
// libFuzzer's (`fuzz-x -max_total_time=60 CORPUS…`, or `fuzz-x crash-…` to replay one input).

import CFuzzerDriver
import Foundation

public enum Fuzzer {
    /// The test the running target registered; libFuzzer calls it through the C entry point.
    nonisolated(unsafe) fileprivate static var test: ((UnsafeRawBufferPointer) -> Void)?

    /// Runs libFuzzer with `test` as the target (or writes the seeds, see the file comment).
    /// Never returns: the process exits with libFuzzer's status.
    public static func main(seeds: () throws -> [(name: String, bytes: [UInt8])],
                            _ test: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        let args = CommandLine.arguments
        if args.count == 3, args[1] == "--write-seeds" {
            do {
                let all = try seeds()
                try write(all, to: args[2], test: test)
                print("wrote \(all.count) seeds to \(args[2])")
                exit(0)
            } catch {
                FileHandle.standardError.write(Data("--write-seeds: \(error)\n".utf8))
                exit(1)
            }
        }
        Self.test = test
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
    }

    /// Replaces the generated seeds in `directory` by `seeds`, after running each through the
    /// target (a seed that crashes it is caught here, not by the first fuzz run). Files named
    /// `crash-*` are inputs a fuzz run found; they stay, as regression tests.
    static func write(_ seeds: [(name: String, bytes: [UInt8])], to directory: String,
                      test: (UnsafeRawBufferPointer) -> Void) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for old in try fm.contentsOfDirectory(atPath: directory) where !old.hasPrefix("crash-") {
            try fm.removeItem(atPath: directory + "/" + old)
        }
        var names: Set<String> = []
        for seed in seeds {
            precondition(!seed.name.hasPrefix("crash-") && names.insert(seed.name).inserted,
                         "seed name \(seed.name) is taken")
            seed.bytes.withUnsafeBytes { test($0) }
            try Data(seed.bytes).write(to: URL(fileURLWithPath: directory + "/" + seed.name))
        }
    }

    /// Stops the run with a crash libFuzzer reports (and saves the input of) when a contract
    /// of the code under test does not hold.
    public static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line) {
        if !condition() { fatalError("contract violated: \(message())", file: file, line: line) }
    }
}

/// libFuzzer's entry point: one input per call. Its bytes are libFuzzer's; the test sees them
/// without a copy, so AddressSanitizer catches a read past the end.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzer.test?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

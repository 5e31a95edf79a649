#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt's FuzzerInterface.h): parses libFuzzer's flags from
/// argc/argv and runs `callback` on every input. Defined by libclang_rt.fuzzer, which
/// `-sanitize=fuzzer` links; a target's own main calls it (SwiftPM on Linux gives every
/// executable a main of its own, so libFuzzer's main cannot be the entry point).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif

// A fuzz target's own promises, beyond what the sanitizers catch: a broken
// one names itself (file, line, condition) and aborts, which libFuzzer
// reports as a crash and keeps the input of.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_REQUIRE(ok)                                                                     \
    do {                                                                                     \
        if (!(ok)) {                                                                         \
            std::fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #ok);           \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)

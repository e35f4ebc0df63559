// Linked into every fuzz target: UBSan is recoverable at compile time (so a
// known, reported bug can be suppressed while it is open: fuzz/known-bugs.supp),
// but every report is fatal, whether the target runs from scripts/fuzz.sh or
// by hand. UBSAN_OPTIONS from the environment adds to these.
extern "C" const char* __ubsan_default_options() {
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

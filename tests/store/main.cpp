// The store tests start and kill real Redis processes; a write to a killed
// one must fail with EPIPE in the harness, not end the test run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <csignal>

int main(int argc, char* argv[]) {
    std::signal(SIGPIPE, SIG_IGN);
    return Catch::Session().run(argc, argv);
}

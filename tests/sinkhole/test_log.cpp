// The log: a capture sink sees whole lines; repeated topics are limited.
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "log.h"

using namespace fluxguard::sinkhole;

TEST_CASE("lines carry the program and the level", "[log]") {
    std::vector<std::string> lines;
    Log log([&](Level, std::string_view line) { lines.emplace_back(line); });
    log.warning("Redis at 127.0.0.1:6379: Connection refused");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "fluxguard-sinkhole: warning: Redis at 127.0.0.1:6379: Connection refused");
}

TEST_CASE("a repeated topic is logged once per interval, then with a count", "[log]") {
    std::vector<std::string> lines;
    Log log([&](Level, std::string_view line) { lines.emplace_back(line); },
            std::chrono::milliseconds(50));
    for (int i = 0; i < 100; ++i) log.limited("redis", Level::error, "down");
    log.limited("other", Level::error, "another topic");
    CHECK(lines.size() == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    log.limited("redis", Level::error, "down");
    REQUIRE(lines.size() == 3);
    CHECK(lines[2] == "fluxguard-sinkhole: error: down (99 more like it not logged)");
}

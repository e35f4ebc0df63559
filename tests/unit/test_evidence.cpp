#include <nlohmann/json.hpp>
#include <string>

#include "evidence.h"
#include "unit.h"

using fluxguard::Evidence;
using fluxguard::to_json_line;
using nlohmann::json;

namespace {

Evidence sample() {
    Evidence e;
    e.domain = "flux.test";
    e.trigger_name = "www.flux.test";
    e.time = 1700000100;
    e.first_seen = 1700000000;
    e.score = 12.5;
    e.threshold = 0;
    e.parts = {{"distinct_addresses", 5, 1.32, 0.5, 3.3}, {"bias", 1, -142.38, 1, -142.38}};
    e.features = {{"geo_spread", 0.5}, {"resolutions", 5}};
    e.resolutions = 5;
    e.min_ttl = 60;
    e.addresses = {{"198.18.1.1", 64601, "RU"}, {"10.0.0.1", 0, ""}};
    e.name_servers = {"ns1.flux.test"};
    e.names = {"www.flux.test", "edge.flux.test"};
    return e;
}

const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

TEST_CASE("to_json_line carries every field", "[evidence]") {
    const std::string line = to_json_line(sample(), "block");
    const json j = json::parse(line);
    CHECK(j["event"] == "fluxguard_verdict");
    CHECK(j["action"] == "block");
    CHECK(j["domain"] == "flux.test");
    CHECK(j["trigger"] == "www.flux.test");
    CHECK(j["time"] == 1700000100);
    CHECK(j["first_seen"] == 1700000000);
    CHECK(j["score"].get<double>() == 12.5);
    CHECK(j["threshold"].get<double>() == 0.0);
    REQUIRE(j["parts"].size() == 2);
    CHECK(j["parts"][0]["feature"] == "distinct_addresses");
    CHECK(j["parts"][0]["value"].get<double>() == 5.0);
    CHECK(j["parts"][0]["weight"].get<double>() == 1.32);
    CHECK(j["parts"][0]["factor"].get<double>() == 0.5);
    CHECK(j["parts"][0]["contribution"].get<double>() == 3.3);
    CHECK(j["features"] == json{{"geo_spread", 0.5}, {"resolutions", 5.0}});
    CHECK(j["parts"][1]["contribution"].get<double>() == -142.38);
    CHECK(j["resolutions"] == 5);
    CHECK(j["min_ttl"] == 60);
    REQUIRE(j["addresses"].size() == 2);
    CHECK(j["addresses"][0] == json{{"ip", "198.18.1.1"}, {"asn", 64601}, {"country", "RU"}});
    CHECK(j["addresses"][1] == json{{"ip", "10.0.0.1"}, {"asn", 0}, {"country", ""}});
    CHECK(j["name_servers"] == json{"ns1.flux.test"});
    CHECK(j["names"] == json{"www.flux.test", "edge.flux.test"});
    CHECK(json::parse(to_json_line(sample(), "monitor"))["action"] == "monitor");
}

TEST_CASE("to_json_line escapes hostile bytes and stays one line", "[evidence]") {
    Evidence e = sample();
    e.domain = std::string("bad\xFF\xFE", 5) + ".test";  // invalid UTF-8
    e.trigger_name = "a\"b\nc\\d\re\tf";                 // JSON specials
    e.names = {std::string("nul\0byte", 8), "\x01\x1f\x7f",           "caf\xC3\xA9", "\xC3\x28",
               "\xED\xA0\x80surrogate",     "\xF4\x90\x80\x80too-big"};
    e.name_servers = {"\xE2\x80\xA8line-separator"};
    e.addresses = {{"\"}], \"injected\": 1, \"x\": [{", 1, "\n\n"}};

    std::string line;
    REQUIRE_NOTHROW(line = to_json_line(e, "block"));
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    for (unsigned char c : line) {
        INFO("byte " << static_cast<int>(c));
        CHECK(c >= 0x20);
    }

    json j;
    REQUIRE_NOTHROW(j = json::parse(line));
    CHECK_FALSE(j.contains("injected"));
    CHECK(j["trigger"] == "a\"b\nc\\d\re\tf");
    const std::string domain = j["domain"];
    CHECK(domain.find('\xFF') == std::string::npos);
    CHECK(domain.find(replacement) != std::string::npos);
    CHECK(domain.rfind("bad", 0) == 0);
    CHECK(domain.size() >= 5 + std::string(".test").size());
    CHECK(domain.substr(domain.size() - 5) == ".test");
    REQUIRE(j["names"].size() == 6);
    CHECK(j["names"][0] == std::string("nul\0byte", 8));
    CHECK(j["names"][1] == "\x01\x1f\x7f");
    CHECK(j["names"][2] == "caf\xC3\xA9");  // valid UTF-8 survives
    for (int i : {3, 4, 5}) {
        const std::string n = j["names"][static_cast<std::size_t>(i)];
        INFO(i);
        CHECK(n.find(replacement) != std::string::npos);
    }
    CHECK(j["name_servers"][0] == "\xE2\x80\xA8line-separator");
    CHECK(j["addresses"][0]["ip"] == "\"}], \"injected\": 1, \"x\": [{");
    CHECK(j["addresses"][0]["country"] == "\n\n");
}

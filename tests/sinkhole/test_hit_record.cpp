// Records: escaping of client bytes, the JSON line, the stream fields, the
// encodings and the Redis key names.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "hit_record.h"
#include "redis_sink.h"

using namespace fluxguard::sinkhole;
using namespace std::string_literals;

namespace {

// A record as the server builds it for an HTTP request with hostile headers.
HitRecord hostile_http_record() {
    HitRecord r;
    r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1732615503123));
    r.duration = std::chrono::milliseconds(42);
    r.client = {"2001:db8::7", 51234};
    r.local = {"192.0.2.1", 80};
    r.sniffed.protocol = Protocol::http;
    r.sniffed.state = SniffState::complete;
    r.sniffed.http.method = "GET";
    r.sniffed.http.target = "/\"}\n{\"forged\":true}";
    r.sniffed.http.version = "HTTP/1.1";
    r.sniffed.http.host = "evil.example\r\nX-Injected: 1";
    r.sniffed.http.user_agent =
        "bot\x1b[2J\x00"s
        "\xff\xc3\xa9\\u0041";
    r.first_bytes = "GET \x00\x01"s;
    r.bytes = 300;
    r.ending = Ending::complete;
    r.answered = true;
    derive_domain(r);
    return r;
}

bool printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

}  // namespace

TEST_CASE("escape_bytes keeps printable ASCII and escapes everything else", "[record]") {
    CHECK(escape_bytes("evil.example") == "evil.example");
    CHECK(escape_bytes("a b~") == "a b~");
    CHECK(escape_bytes("line\r\nbreak") == "line\\x0d\\x0abreak");
    CHECK(escape_bytes("quote\"back\\slash") == "quote\\x22back\\x5cslash");
    CHECK(escape_bytes("nul\x00"s
                       "del\x7f") == "nul\\x00del\\x7f");
    CHECK(escape_bytes("\xc3\xa9") == "\\xc3\\xa9");           // valid UTF-8 too
    CHECK(escape_bytes("\xff\xfe") == "\\xff\\xfe");           // invalid UTF-8
    CHECK(escape_bytes("\xe2\x80\xae") == "\\xe2\\x80\\xae");  // RIGHT-TO-LEFT OVERRIDE
    CHECK(escape_bytes("h2,x", ",") == "h2\\x2cx");
}

TEST_CASE("escape_bytes is injective: an escape cannot be forged by sending one", "[record]") {
    // The client sends the text of an escape; it comes out different from
    // the escape of the byte itself because '\\' is escaped too.
    CHECK(escape_bytes("\\x0a") != escape_bytes("\n"));
    std::set<std::string> seen;
    for (int a = 0; a < 256; ++a)
        for (const char* suffix : {"", "x", "\\", "0a"}) {
            const auto raw = std::string(1, static_cast<char>(a)) + suffix;
            CHECK(seen.insert(escape_bytes(raw)).second);
        }
}

TEST_CASE("append_json_string escapes JSON's specials and control bytes", "[record]") {
    std::string out;
    append_json_string(out, std::string("a\"b\\c\nd\te\x01\x7f", 11));
    CHECK(out == "a\\\"b\\\\c\\nd\\te\\u0001\\u007f");
}

TEST_CASE("a JSON line is one line of valid JSON holding the escaped fields", "[record]") {
    const auto r = hostile_http_record();
    const auto line = to_json_line(r, PayloadEncoding::base64);
    REQUIRE(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);  // no injected line break
    CHECK(printable_ascii(line.substr(0, line.size() - 1)));
    const auto j = nlohmann::json::parse(line);
    CHECK(j.size() == to_fields(r, PayloadEncoding::base64).size());
    CHECK(j.at("time") == "2024-11-26T10:05:03.123Z");
    CHECK(j.at("transport") == "tcp");
    CHECK(j.at("client_ip") == "2001:db8::7");
    CHECK(j.at("client_port") == 51234);
    CHECK(j.at("local_ip") == "192.0.2.1");
    CHECK(j.at("local_port") == 80);
    CHECK(j.at("protocol") == "http");
    CHECK(j.at("sniff") == "complete");
    CHECK(j.at("http_method") == "GET");
    CHECK(j.at("http_path") == "/\\x22}\\x0a{\\x22forged\\x22:true}");
    CHECK(j.at("http_host") == "evil.example\\x0d\\x0aX-Injected: 1");
    CHECK(j.at("http_user_agent") == "bot\\x1b[2J\\x00\\xff\\xc3\\xa9\\x5cu0041");
    CHECK(j.at("domain") == "evil.example\\x0d\\x0ax-injected");  // ":..." taken for a port
    CHECK(j.at("bytes") == 300);
    CHECK(j.at("first_bytes_base64") == "R0VUIAAB");
    CHECK(j.at("end") == "complete");
    CHECK(j.at("answered") == true);
    CHECK(j.at("duration_ms") == 42);
    CHECK_FALSE(j.contains("forged"));
    CHECK_FALSE(j.contains("tls_sni"));
}

TEST_CASE("a TLS record carries SNI, ALPN as a list and the version", "[record]") {
    HitRecord r;
    r.client = {"127.0.0.1", 40000};
    r.local = {"127.0.0.1", 443};
    r.sniffed.protocol = Protocol::tls;
    r.sniffed.state = SniffState::complete;
    r.sniffed.tls.client_version = 0x0303;
    r.sniffed.tls.sni = "Flux.Example\n";
    r.sniffed.tls.alpn = {"h2", "a,b\""};
    r.first_bytes = "\x16\x03\x01";
    derive_domain(r);
    const auto j = nlohmann::json::parse(to_json_line(r, PayloadEncoding::hex));
    CHECK(j.at("tls_sni") == "Flux.Example\\x0a");
    CHECK(j.at("domain") == "flux.example\\x0a");
    CHECK(j.at("tls_alpn") == nlohmann::json::array({"h2", "a,b\\x22"}));
    CHECK(j.at("tls_version") == "0x0303");
    CHECK(j.at("first_bytes_hex") == "160301");
    CHECK_FALSE(j.contains("http_method"));

    // In the stream, the list is comma-joined with commas inside names escaped.
    const auto fields = to_fields(r, PayloadEncoding::hex);
    const auto alpn = std::find_if(fields.begin(), fields.end(),
                                   [](const auto& f) { return f.first == "tls_alpn"; });
    REQUIRE(alpn != fields.end());
    CHECK(alpn->second == "h2,a\\x2cb\\x22");
}

TEST_CASE("stream fields are the JSON keys in the same order", "[record]") {
    const auto r = hostile_http_record();
    const auto fields = to_fields(r, PayloadEncoding::base64);
    const auto j = nlohmann::ordered_json::parse(to_json_line(r, PayloadEncoding::base64));
    REQUIRE(fields.size() == j.size());
    std::size_t i = 0;
    for (const auto& [key, value] : j.items()) {
        CHECK(fields[i].first == key);
        if (value.is_string()) CHECK(fields[i].second == value.get<std::string>());
        CHECK(printable_ascii(fields[i].second));
        ++i;
    }
}

TEST_CASE("base64 and hex encodings", "[record]") {
    // RFC 4648 10.
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode("\xff\xfe\x00") == "//4=");  // stops at the NUL: two bytes
    CHECK(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
    CHECK(hex_encode(std::string("\x00\x7f\xff", 3)) == "007fff");
}

TEST_CASE("times are UTC ISO 8601 with milliseconds", "[record]") {
    using std::chrono::milliseconds;
    using std::chrono::system_clock;
    CHECK(format_time(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    CHECK(format_time(system_clock::time_point(milliseconds(951782400999))) ==
          "2000-02-29T00:00:00.999Z");
    CHECK(unix_seconds(system_clock::time_point(milliseconds(1732615503999))) == 1732615503);
}

TEST_CASE("UDP records and port labels", "[record]") {
    HitRecord r;
    r.transport = Transport::udp;
    r.local = {"::1", 53};
    r.ending = Ending::datagram;
    CHECK(port_label(r) == "udp/53");
    const auto j = nlohmann::json::parse(to_json_line(r, PayloadEncoding::base64));
    CHECK(j.at("transport") == "udp");
    CHECK(j.at("protocol") == "none");
    CHECK(j.at("end") == "datagram");
    CHECK_FALSE(j.contains("domain"));
}

TEST_CASE("Redis key names follow the documented layout", "[record][redis]") {
    const RedisKeys keys("fluxguard:");
    CHECK(keys.stream() == "fluxguard:sinkhole:hits");
    CHECK(keys.hosts() == "fluxguard:hosts");
    const auto host = keys.shared().host_keys("2001:db8::7");
    CHECK(host.hash == "fluxguard:host:{2001:db8::7}");
    CHECK(host.domains == "fluxguard:host:{2001:db8::7}:domains");
    CHECK(host.ports == "fluxguard:host:{2001:db8::7}:ports");
    CHECK(RedisKeys("x:").shared().host_keys("10.0.0.1").hash == "x:host:{10.0.0.1}");
}

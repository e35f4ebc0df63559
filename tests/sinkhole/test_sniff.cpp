// The sniffer over well-formed, truncated, malformed and random bytes.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "sniff.h"
#include "tls_builder.h"

using namespace fluxguard::sinkhole;
using namespace sinkhole_test;

namespace {

SniffResult sniff_text(std::string_view s) { return sniff(bytes_of(s)); }
SniffResult sniff_bytes(const ByteVector& b) { return sniff(Bytes(b.data(), b.size())); }

HelloSpec spec_with(std::string sni, std::vector<std::string> alpn = {}) {
    HelloSpec spec;
    spec.sni = std::move(sni);
    spec.alpn = std::move(alpn);
    return spec;
}

// Offsets in records(client_hello(spec)) with no `extra` extensions.
constexpr std::size_t record_header = 5;
constexpr std::size_t hello_header = 4;
std::size_t session_id_len_at() { return record_header + hello_header + 2 + 32; }
std::size_t extensions_len_at(std::size_t session_id = 32) {
    return session_id_len_at() + 1 + session_id + 2 + 6 + 1 + 1;
}

// Checks every promise of sniff.h that holds for any input.
void check_invariants(const SniffResult& r, std::size_t input_size) {
    CHECK(r.http.method.size() <= max_method);
    CHECK(r.http.target.size() <= max_target);
    CHECK(r.http.host.size() <= max_header_value);
    CHECK(r.http.user_agent.size() <= max_header_value);
    CHECK(r.tls.sni.size() <= max_server_name);
    CHECK(r.tls.alpn.size() <= max_alpn_protocols);
    CHECK(r.ssh_banner.size() <= max_ssh_banner);
    if (input_size == 0) CHECK(r.protocol == Protocol::none);
    if (input_size > 0) CHECK(r.protocol != Protocol::none);
    if (r.state == SniffState::complete) CHECK(r.protocol != Protocol::unknown);
}

const std::string get_request =
    "GET /gate.php?id=42 HTTP/1.1\r\n"
    "Host: C2.Evil.Example:8080\r\n"
    "User-Agent:   Mozilla/4.0 (compatible; bot)  \r\n"
    "Accept: */*\r\n"
    "\r\n";

}  // namespace

TEST_CASE("empty input is protocol none, partial", "[sniff]") {
    const auto r = sniff(Bytes{});
    CHECK(r.protocol == Protocol::none);
    CHECK(r.state == SniffState::partial);
}

TEST_CASE("an HTTP request head yields method, target, Host and User-Agent", "[sniff][http]") {
    const auto r = sniff_text(get_request);
    REQUIRE(r.protocol == Protocol::http);
    CHECK(r.state == SniffState::complete);
    CHECK(r.http.method == "GET");
    CHECK(r.http.target == "/gate.php?id=42");
    CHECK(r.http.version == "HTTP/1.1");
    CHECK(r.http.host == "C2.Evil.Example:8080");
    CHECK(r.http.user_agent == "Mozilla/4.0 (compatible; bot)");
    CHECK(r.http.headers_complete);
    CHECK_FALSE(r.http.truncated);
    CHECK(request_domain(r.http) == "c2.evil.example");
}

TEST_CASE("every prefix of an HTTP request is partial, never complete", "[sniff][http]") {
    const auto line_end = get_request.find('\n') + 1;
    for (std::size_t n = 1; n < get_request.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const auto r = sniff_text(std::string_view(get_request).substr(0, n));
        CHECK(r.state == SniffState::partial);
        CHECK(r.protocol == (n >= line_end ? Protocol::http : Protocol::unknown));
        check_invariants(r, n);
    }
}

TEST_CASE("HTTP with bare LF line ends and a body after the head", "[sniff][http]") {
    const auto r = sniff_text("POST /upload HTTP/1.0\nhost: a.example\nContent-Length: 3\n\nabc");
    REQUIRE(r.protocol == Protocol::http);
    CHECK(r.state == SniffState::complete);
    CHECK(r.http.method == "POST");
    CHECK(r.http.host == "a.example");
}

TEST_CASE("the first Host counts, sloppy header lines are skipped", "[sniff][http]") {
    const auto r = sniff_text(
        "GET / HTTP/1.1\r\n"
        "this line has no colon\r\n"
        ": empty name\r\n"
        "bad name: x\r\n"
        "HOST: first.example\r\n"
        " folded: continuation\r\n"
        "Host: second.example\r\n"
        "\r\n");
    REQUIRE(r.state == SniffState::complete);
    CHECK(r.http.host == "first.example");
}

TEST_CASE("an absolute-form target names the domain when Host is missing", "[sniff][http]") {
    const auto r = sniff_text("GET HTTP://user@Proxy.Example:3128/x?y HTTP/1.1\r\n\r\n");
    REQUIRE(r.protocol == Protocol::http);
    CHECK(r.http.host.empty());
    CHECK(request_domain(r.http) == "proxy.example");
}

TEST_CASE("oversized header values are cut at their cap and flagged", "[sniff][http]") {
    const std::string host(5000, 'a');
    const auto r = sniff_text("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    REQUIRE(r.state == SniffState::complete);
    CHECK(r.http.host.size() == max_header_value);
    CHECK(r.http.truncated);
    const auto long_target = sniff_text("GET /" + std::string(10000, 'x') + " HTTP/1.1\r\n\r\n");
    CHECK(long_target.http.target.size() == max_target);
    CHECK(long_target.http.truncated);
}

TEST_CASE("client bytes stay raw in the fields (escaping is the record's job)", "[sniff][http]") {
    const auto r = sniff_text(
        std::string("GET / HTTP/1.1\r\nHost: a\"b\x01\xff\r\nUser-Agent: \x1b[31m\r\n\r\n"));
    REQUIRE(r.state == SniffState::complete);
    CHECK(r.http.host == "a\"b\x01\xff");
    CHECK(r.http.user_agent == "\x1b[31m");
}

TEST_CASE("bytes that cannot be HTTP are opaque", "[sniff][http]") {
    for (const std::string& s :
         {std::string("\x00\x01\x02", 3), std::string("GET\r\n"), std::string("GET /\r\n"),
          std::string(" GET / HTTP/1.1\r\n"), std::string("GET / FTP/1.1\r\n"),
          std::string("GET / HTTP/x\r\n"), std::string("hello raw\n"),
          std::string(max_method + 1, 'A') + " "}) {
        INFO(s);
        const auto r = sniff_text(s);
        CHECK(r.protocol == Protocol::unknown);
        CHECK(r.state == SniffState::opaque);
    }
    const auto maybe = sniff_text("hello raw");  // could still be "hello raw HTTP/1.1"
    CHECK(maybe.protocol == Protocol::unknown);
    CHECK(maybe.state == SniffState::partial);
}

TEST_CASE("a TLS ClientHello yields SNI, ALPN and versions", "[sniff][tls]") {
    const auto bytes = records(client_hello(spec_with("Flux.Evil.Example.", {"h2", "http/1.1"})));
    const auto r = sniff_bytes(bytes);
    REQUIRE(r.protocol == Protocol::tls);
    CHECK(r.state == SniffState::complete);
    CHECK(r.tls.sni == "Flux.Evil.Example.");
    CHECK(r.tls.alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(r.tls.record_version == 0x0301);
    CHECK(r.tls.client_version == 0x0303);
    CHECK(domain_from_host(r.tls.sni) == "flux.evil.example");
}

TEST_CASE("a ClientHello without SNI, ALPN or any extension is still complete", "[sniff][tls]") {
    const auto plain = sniff_bytes(records(client_hello(HelloSpec{})));
    CHECK(plain.state == SniffState::complete);
    CHECK(plain.tls.sni.empty());
    auto no_extensions = HelloSpec{};
    no_extensions.extensions = false;
    const auto bare = sniff_bytes(records(client_hello(no_extensions)));
    CHECK(bare.state == SniffState::complete);
}

TEST_CASE("a ClientHello fragmented over several records is reassembled", "[sniff][tls]") {
    const auto hello = client_hello(spec_with("frag.example", {"h2"}));
    for (std::size_t fragment : {1u, 7u, 50u, 100u}) {
        INFO("fragment " << fragment);
        const auto r = sniff_bytes(records(hello, fragment));
        CHECK(r.state == SniffState::complete);
        CHECK(r.tls.sni == "frag.example");
    }
}

TEST_CASE("every prefix of a ClientHello is partial", "[sniff][tls]") {
    const auto bytes = records(client_hello(spec_with("prefix.example", {"h2"})), 60);
    for (std::size_t n = 1; n < bytes.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const auto r = sniff(Bytes(bytes.data(), n));
        CHECK(r.protocol == Protocol::tls);
        CHECK(r.state == SniffState::partial);
        check_invariants(r, n);
    }
}

TEST_CASE("lying TLS lengths are malformed, never trusted", "[sniff][tls]") {
    const auto spec = spec_with("lie.example", {"h2"});
    const auto good = records(client_hello(spec));
    const auto patched = [&](std::size_t at, std::initializer_list<std::uint8_t> bytes) {
        auto b = good;
        std::size_t i = at;
        for (auto v : bytes) b.at(i++) = v;
        return b;
    };
    const auto ext = extensions_len_at();
    const auto first_ext_len = ext + 4;  // the SNI extension's length
    const auto sni_list_len = ext + 6;
    const auto sni_name_len = ext + 9;
    struct Case {
        const char* what;
        ByteVector bytes;
    };
    const std::vector<Case> cases = {
        {"record length 0", patched(3, {0, 0})},
        {"record length beyond 2^14", patched(3, {0x40, 0x01})},
        {"record version 2.0", patched(1, {2, 0})},
        {"not a ClientHello", patched(5, {2})},
        {"hello length beyond any possible hello", patched(6, {0xff, 0xff, 0xff})},
        {"hello length shorter than its fields", patched(6, {0, 0, 40})},
        {"session id longer than 32", patched(session_id_len_at(), {33})},
        {"extensions length beyond the hello", patched(ext, {0xff, 0xff})},
        {"extensions length short of the hello", patched(ext, {0, 4})},
        {"extension length beyond the block", patched(first_ext_len, {0xff, 0xf0})},
        {"server_name list length mismatch", patched(sni_list_len, {0, 3})},
        {"host_name length beyond the list", patched(sni_name_len, {0x7f, 0xff})},
        {"host_name length zero", patched(sni_name_len, {0, 0})},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const auto r = sniff_bytes(c.bytes);
        CHECK(r.protocol == Protocol::tls);
        CHECK(r.state == SniffState::malformed);
        check_invariants(r, c.bytes.size());
    }

    // A second record that is not a handshake record.
    auto two = records(client_hello(spec), 40);
    two.at(45) = 0x17;
    CHECK(sniff_bytes(two).state == SniffState::malformed);
}

TEST_CASE("ALPN with an empty protocol name is malformed", "[sniff][tls]") {
    ByteVector bad_alpn;
    put16(bad_alpn, 3);
    put8(bad_alpn, 0);  // zero-length name
    put8(bad_alpn, 1);
    put8(bad_alpn, 'x');
    auto spec = HelloSpec{};
    spec.extra = {{16, bad_alpn}};
    const auto r = sniff_bytes(records(client_hello(spec)));
    CHECK(r.state == SniffState::malformed);
}

TEST_CASE("too many ALPN protocols are cut at the cap", "[sniff][tls]") {
    std::vector<std::string> many;
    for (int i = 0; i < 40; ++i) many.push_back("p" + std::to_string(i));
    const auto r = sniff_bytes(records(client_hello(spec_with("", many))));
    CHECK(r.state == SniffState::complete);
    CHECK(r.tls.alpn.size() == max_alpn_protocols);
    CHECK(r.tls.truncated);
}

TEST_CASE("an SSH banner", "[sniff][ssh]") {
    const auto r = sniff_text("SSH-2.0-OpenSSH_9.2p1 Debian\r\nrest");
    CHECK(r.protocol == Protocol::ssh);
    CHECK(r.state == SniffState::complete);
    CHECK(r.ssh_banner == "SSH-2.0-OpenSSH_9.2p1 Debian");
    CHECK(sniff_text("SSH-2.0-partial").state == SniffState::partial);
    CHECK(sniff_text("SSH-" + std::string(300, 'x')).state == SniffState::malformed);
    CHECK(sniff_text("SS").protocol == Protocol::unknown);  // could be a method still
}

TEST_CASE("domain_from_host strips port, brackets and trailing dot, lower-cases ASCII", "[sniff]") {
    CHECK(domain_from_host("Evil.Example") == "evil.example");
    CHECK(domain_from_host(" evil.example:8080 ") == "evil.example");
    CHECK(domain_from_host("evil.example.") == "evil.example");
    CHECK(domain_from_host("[2001:DB8::1]:443") == "2001:db8::1");
    CHECK(domain_from_host("2001:db8::1") == "2001:db8::1");
    CHECK(domain_from_host("[unterminated") == "unterminated");
    CHECK(domain_from_host("\xC3\x89vil.example") == "\xC3\x89vil.example");  // bytes kept
    CHECK(domain_from_host(std::string(5000, 'a')).size() == max_server_name);
    CHECK(domain_from_host("").empty());
}

TEST_CASE("random and mutated input never breaks the sniffer's promises", "[sniff][robustness]") {
    std::mt19937 random(20241126);  // fixed seed: a failure reproduces
    const auto hello = records(client_hello(spec_with("mutate.example", {"h2", "x"})), 90);
    const std::string http = get_request;
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 20000; ++round) {
        ByteVector input;
        switch (round % 3) {
            case 0:
                input = hello;
                break;
            case 1:
                input.assign(http.begin(), http.end());
                break;
            case 2:
                input.resize(static_cast<std::size_t>(byte(random)) * 8);
                break;
        }
        for (auto& b : input)
            if (round % 3 == 2 || byte(random) < 4) b = static_cast<std::uint8_t>(byte(random));
        if (!input.empty() && byte(random) < 64)
            input.resize(static_cast<std::size_t>(byte(random)) % input.size());
        const auto r = sniff_bytes(input);
        check_invariants(r, input.size());
    }
}

// libFuzzer entry point: the sniffer and the record writer over arbitrary
// bytes. Beyond "no crash, no sanitizer report" it checks the promises the
// rest of the sinkhole relies on: caps on every field, and a JSON line that
// is one line of printable ASCII whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "hit_record.h"
#include "sniff.h"

using namespace fluxguard::sinkhole;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes bytes(data, size);
    HitRecord r;
    r.sniffed = sniff(bytes);
    const auto& s = r.sniffed;
    FUZZ_REQUIRE(s.http.method.size() <= max_method && s.http.target.size() <= max_target);
    FUZZ_REQUIRE(s.http.host.size() <= max_header_value && s.http.user_agent.size() <= max_header_value);
    FUZZ_REQUIRE(s.tls.sni.size() <= max_server_name && s.tls.alpn.size() <= max_alpn_protocols);
    FUZZ_REQUIRE(s.ssh_banner.size() <= max_ssh_banner);
    FUZZ_REQUIRE((size == 0) == (s.protocol == Protocol::none));

    // The TLS sniffer on its own too, whatever the first byte.
    const auto tls = sniff_tls(bytes);
    FUZZ_REQUIRE(tls.tls.sni.size() <= max_server_name);

    r.client = {"192.0.2.1", 1};
    r.local = {"192.0.2.2", 2};
    r.first_bytes.assign(reinterpret_cast<const char*>(data), size < 256 ? size : 256);
    r.bytes = size;
    derive_domain(r);
    const auto line = to_json_line(r, PayloadEncoding::base64);
    FUZZ_REQUIRE(!line.empty() && line.back() == '\n');
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        FUZZ_REQUIRE(c >= 0x20 && c <= 0x7e);
    }
    return 0;
}

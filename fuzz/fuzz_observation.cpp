// The module's bridge (module/bridge.cpp) without Unbound: fuzz bytes become
// the plain C records unbound_glue.c hands over (fluxguard_abi.h), and go
// through fg_engine_observe -- wire names and rdata to the core's Observation,
// CNAME following, registrable domains, geo look-ups, the scorer, the
// blocklist, the verdict JSON and the cache-purge callback -- and
// fg_engine_blocked. A fresh engine per input keeps every run reproducible.
//
// Input: observations, one after the other, until the bytes run out:
//   ctl       u8   bits 0-1 qtype (A, AAAA, A, other), bit 2 zone present,
//                  bits 3-4 rcode (NOERROR, NOERROR, SERVFAIL, NXDOMAIN)
//   dt        u8   seconds since the previous observation
//   qname     name
//   n         u8   answer records (mod 17), then n x rr
//   zone      name (when bit 2)
//   m         u8   delegation records (mod 17), then m x rr
// rr:   owner name, type u8 (bits 0-1 A/AAAA/CNAME/NS, bit 2 raw rdata with a
//       u8 length, bit 3 raw 16-bit type follows), ttl u8 (255: u32 follows),
//       rdata (A: 4 bytes, AAAA: 16, CNAME/NS: name, raw: u8 length + bytes)
// name: u8 L; L < 128: L raw wire bytes (any bytes, malformed or not);
//       L >= 128: the (L - 128)-th name read so far in this input (mod count),
//       so owners, CNAME targets and zones can match.
// Checks: purged names and blocked domains are valid wire names, reasons are
// NUL-terminated, every verdict line the core logs is valid JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

#include "dns_name.h"
#include "fluxguard_abi.h"

namespace {

std::string g_config_path;

class Reader {
public:
    Reader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
    bool empty() const { return n_ == 0; }
    std::uint8_t u8() {
        if (n_ == 0) return 0;
        --n_;
        return *p_++;
    }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
        return v;
    }
    // Up to `n` bytes (fewer at the end of the input), copied so that ASan
    // sees exactly the length the record claims.
    std::vector<std::uint8_t> bytes(std::size_t n) {
        n = std::min(n, n_);
        std::vector<std::uint8_t> out(p_, p_ + n);
        p_ += n;
        n_ -= n;
        return out;
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

// Owns every buffer of one input; deque keeps addresses stable.
struct Arena {
    std::deque<std::vector<std::uint8_t>> buffers;
    std::vector<std::size_t> names;  // indices into buffers

    const std::vector<std::uint8_t>& name(Reader& in) {
        const std::uint8_t l = in.u8();
        if (l >= 128 && !names.empty()) return buffers[names[(l - 128) % names.size()]];
        buffers.push_back(in.bytes(l & 0x7f));
        names.push_back(buffers.size() - 1);
        return buffers.back();
    }
    const std::vector<std::uint8_t>& raw(Reader& in, std::size_t n) {
        buffers.push_back(in.bytes(n));
        return buffers.back();
    }
};

fg_rr read_rr(Reader& in, Arena& arena) {
    fg_rr rr{};
    const auto& owner = arena.name(in);
    rr.owner = owner.data();
    rr.owner_len = owner.size();
    const std::uint8_t t = in.u8();
    static constexpr std::uint16_t types[] = {1, 28, 5, 2};
    rr.type = types[t & 3];
    if (t & 8) rr.type = static_cast<std::uint16_t>((in.u8() << 8) | in.u8());
    const std::uint8_t ttl = in.u8();
    rr.ttl = ttl == 255 ? in.u32() : ttl;
    const std::vector<std::uint8_t>* rdata;
    if (t & 4) rdata = &arena.raw(in, in.u8());
    else if ((t & 3) == 0) rdata = &arena.raw(in, 4);
    else if ((t & 3) == 1) rdata = &arena.raw(in, 16);
    else rdata = &arena.name(in);
    rr.rdata = rdata->data();
    rr.rdata_len = rdata->size();
    return rr;
}

void check_wire_name(const std::uint8_t* name, std::size_t len, const char* what) {
    if (len == 0 || len > 255 || !fluxguard::name_from_wire(std::span(name, len))) {
        std::fprintf(stderr, "fuzz_observation: invalid wire name from %s (%zu bytes)\n", what, len);
        std::abort();
    }
}

bool g_verbose = false;  // FUZZ_VERBOSE=1: print what the core logs and purges

void on_log(int level, const char* message) {
    if (level < 0 || level > 2 || !message) std::abort();
    if (g_verbose) std::fprintf(stderr, "log %d: %s\n", level, message);
    if (message[0] == '{' && !nlohmann::json::accept(message)) {
        std::fprintf(stderr, "fuzz_observation: log line is not JSON: %s\n", message);
        std::abort();
    }
}

void on_purge(void* arg, const std::uint8_t* name, std::size_t len) {
    ++*static_cast<std::size_t*>(arg);
    check_wire_name(name, len, "purge");
    if (g_verbose)
        std::fprintf(stderr, "purge %s\n", fluxguard::name_from_wire(std::span(name, len))->c_str());
}

void check_blocked(fg_engine* engine, const std::uint8_t* name, std::size_t len) {
    fg_block block;
    std::memset(&block, 0xAB, sizeof block);
    if (!fg_engine_blocked(engine, name, len, &block)) return;
    check_wire_name(block.domain_wire, block.domain_wire_len, "fg_engine_blocked");
    if (!std::memchr(block.reason, 0, sizeof block.reason)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Small caps, so that eviction and the pool limits are reached within
    // one input; min-resolutions 1 so a few records can flag a domain.
    char path[] = "/tmp/fuzz_observation.XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) std::abort();
    close(fd);
    g_config_path = path;
    g_verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
    std::ofstream(g_config_path) << "policy: nxdomain\n"
                                    "asn-database: " FLUXGUARD_FIXTURES "/test-asn.mmdb\n"
                                    "country-database: " FLUXGUARD_FIXTURES "/test-country.mmdb\n"
                                    "allow: allowed.test\n"
                                    "min-resolutions: 1\n"
                                    "max-domains: 16\n"
                                    "max-addresses-per-domain: 8\n"
                                    "max-pool-entries: 16\n"
                                    "window: 600\n";
    std::atexit([] { std::remove(g_config_path.c_str()); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    char error[600] = {};
    std::size_t purged = 0;
    fg_engine* engine =
        fg_engine_create(g_config_path.c_str(), on_log, on_purge, &purged, error, sizeof error);
    if (!engine) {
        std::fprintf(stderr, "fuzz_observation: %s\n", error);
        std::abort();
    }
    Reader in(data, size);
    Arena arena;
    std::int64_t now = 1700000000;
    for (int round = 0; round < 64 && !in.empty(); ++round) {
        const std::uint8_t ctl = in.u8();
        static constexpr std::uint16_t qtypes[] = {1, 28, 1, 16};
        static constexpr int rcodes[] = {0, 0, 2, 3};
        fg_observation obs{};
        now += in.u8();
        obs.time = now;
        obs.qtype = qtypes[ctl & 3];
        obs.rcode = rcodes[(ctl >> 3) & 3];
        const auto& qname = arena.name(in);
        obs.qname = qname.data();
        obs.qname_len = qname.size();
        std::vector<fg_rr> answer(in.u8() % 17);
        for (auto& rr : answer) rr = read_rr(in, arena);
        if (ctl & 4) {
            const auto& zone = arena.name(in);
            obs.zone = zone.data();
            obs.zone_len = zone.size();
        }
        std::vector<fg_rr> delegation(in.u8() % 17);
        for (auto& rr : delegation) rr = read_rr(in, arena);
        obs.answer = answer.data();
        obs.answer_count = answer.size();
        obs.delegation = delegation.data();
        obs.delegation_count = delegation.size();

        // As unbound_glue.c does: look up, observe, look up the chain again.
        check_blocked(engine, obs.qname, obs.qname_len);
        fg_engine_observe(engine, &obs);
        check_blocked(engine, obs.qname, obs.qname_len);
        for (const auto& rr : answer) check_blocked(engine, rr.owner, rr.owner_len);
    }
    fg_engine_destroy(engine);
    return 0;
}

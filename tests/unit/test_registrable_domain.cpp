#include <libpsl.h>

#include <string>
#include <vector>

#include "registrable_domain.h"
#include "unit.h"

using fluxguard::RegistrableDomains;

namespace {

// libpsl itself on the system's list, as the reference.
std::string reference(const std::string& name) {
    static const psl_ctx_t* psl = [] {
        std::string path = psl_dist_filename();
        if (path.ends_with(".dafsa")) path.replace(path.size() - 6, 6, ".dat");
        const psl_ctx_t* ctx = psl_load_file(path.c_str());
        return ctx ? ctx : psl_latest(nullptr);
    }();
    const char* reg = psl_registrable_domain(psl, name.c_str());
    return reg ? std::string(reg) : name;
}

}  // namespace

TEST_CASE("registrable domains: the usual cases", "[registrable_domain]") {
    const RegistrableDomains domains;
    CHECK(domains.of("www.example.com") == "example.com");
    CHECK(domains.of("example.com") == "example.com");
    CHECK(domains.of("a.b.c.example.co.uk") == "example.co.uk");
    // Public suffixes and single labels are their own.
    CHECK(domains.of("co.uk") == "co.uk");
    CHECK(domains.of("com") == "com");
    CHECK(domains.of("localhost") == "localhost");
    // Not on the list: the implicit "*" rule makes the last label public.
    CHECK(domains.of("www.flux.test") == "flux.test");
}

// of() remembers each parent's answer; whatever order names come in, what
// it says must be what libpsl says of the whole name, wildcard (*.ck,
// *.compute.amazonaws.com) and exception (!www.ck) rules included.
TEST_CASE("registrable domains: the memo of parents agrees with libpsl", "[registrable_domain]") {
    const std::vector<std::string> names = {
        "ck", "foo.ck", "a.foo.ck", "b.a.foo.ck", "www.ck", "a.www.ck",
        "amazonaws.com", "compute.amazonaws.com", "ec2-1-2-3-4.compute.amazonaws.com",
        "x.ec2-1-2-3-4.compute.amazonaws.com", "y.x.ec2-1-2-3-4.compute.amazonaws.com",
        "eu-west-1.compute.amazonaws.com", "x.eu-west-1.compute.amazonaws.com",
        "blogspot.com", "x.blogspot.com", "y.x.blogspot.com", "github.io", "a.github.io",
        "uk", "co.uk", "example.co.uk", "www.example.co.uk", "a.www.example.co.uk",
        "jp", "tokyo.jp", "a.tokyo.jp", "b.a.tokyo.jp", "city.kawasaki.jp",
        "a.city.kawasaki.jp", "kawasaki.jp", "x.kawasaki.jp", "y.x.kawasaki.jp",
        "test", "flux.test", "www.flux.test", "a.b.c.d.e.flux.test", "localhost",
        "xn--p1ai", "xn--80aswg.xn--p1ai", "www.xn--80aswg.xn--p1ai"};
    // Twice over, forwards then backwards: first answers fill the memo,
    // later ones come from it.
    for (int pass = 0; pass < 2; ++pass) {
        const RegistrableDomains domains;
        for (int round = 0; round < 2; ++round) {
            for (std::size_t i = 0; i < names.size(); ++i) {
                const auto& name = names[pass == 0 ? i : names.size() - 1 - i];
                INFO(name << " (pass " << pass << ", round " << round << ")");
                CHECK(domains.of(name) == reference(name));
            }
        }
    }
}

TEST_CASE("registrable domains: the memo's memory is counted as it fills", "[registrable_domain]") {
    const RegistrableDomains domains;
    const std::size_t empty = domains.memory_bytes();
    const std::string zone = "a-zone-name-longer-than-any-inline-buffer.com";
    CHECK(domains.of("www." + zone) == zone);
    // The parent and its answer, both on the heap.
    CHECK(domains.memory_bytes() >= empty + 2 * zone.size());
}

#include <array>
#include <cstdint>

#include "tally.h"
#include "unit.h"

using fluxguard::Tally;

TEST_CASE("tally: distinct values follow additions and removals", "[tally]") {
    Tally<std::uint32_t> t;
    CHECK(t.distinct() == 0);
    CHECK(t.spread() == 1.0);  // no data hides nothing
    t.add(7);
    t.add(7);
    t.add(9);
    CHECK(t.distinct() == 2);
    CHECK(t.total() == 3);
    t.remove(7);
    CHECK(t.distinct() == 2);
    t.remove(7);
    CHECK(t.distinct() == 1);
    t.remove(42);  // never added: nothing happens
    CHECK(t.distinct() == 1);
    t.remove(9);
    CHECK(t.distinct() == 0);
    CHECK(t.total() == 0);
}

TEST_CASE("tally: spread is the Gini-Simpson index of the counts", "[tally]") {
    Tally<std::array<char, 2>> countries;
    countries.add({'D', 'E'});
    CHECK(countries.spread() == 0.0);
    countries.add({'D', 'E'});
    countries.add({'F', 'R'});
    countries.add({'N', 'L'});
    // p = 1/2, 1/4, 1/4
    CHECK(countries.spread() == Approx(1.0 - (0.25 + 0.0625 + 0.0625)));
}

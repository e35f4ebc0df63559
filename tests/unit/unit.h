// Every unit-test file (main.cpp included) reaches Catch2 through here, so the
// configuration macros are the same in all of them.
#pragma once

#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include <catch2/catch.hpp>

// The single Catch2 main of fluxguard's unit tests; the cases live in one
// file per core component (test_<component>.cpp), tagged [<component>].
#define CATCH_CONFIG_MAIN
#include "unit.h"

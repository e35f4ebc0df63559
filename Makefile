# The README's contract: `make run` and `make test` work on a fresh Debian
# bookworm machine; a second run reuses everything already built.
BUILD       := build
CMAKE_DIR   := $(BUILD)/cmake
GEO_DIR     := $(BUILD)/geo
JOBS        := $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo $(if $(CI),-DFLUXGUARD_WERROR=ON)

.PHONY: all deps unbound geo configure build run fleet test bench accuracy clean

all: build

deps:
	@scripts/install-deps.sh

unbound: deps
	@scripts/build-unbound.sh

geo: deps
	@scripts/build-geo-mmdb.sh $(GEO_DIR)

configure: unbound
	@cmake -S . -B $(CMAKE_DIR) $(CMAKE_FLAGS) >/dev/null

# What `make run` needs: the module only.
build: configure
	@cmake --build $(CMAKE_DIR) -j$(JOBS) --target fluxguard_module -- --no-print-directory

run: build geo
	@scripts/run.sh

# Redis + two resolvers (+ the sinkhole when built) on loopback.
fleet: build geo
	@scripts/fleet.sh

test: configure geo
	@cmake --build $(CMAKE_DIR) -j$(JOBS) -- --no-print-directory
	@cd $(CMAKE_DIR) && ctest --output-on-failure -j$(JOBS)

# Core speed and memory (Google Benchmark); figures, not pass/fail.
bench: configure
	@cmake --build $(CMAKE_DIR) -j$(JOBS) --target core_bench -- --no-print-directory
	@$(CMAKE_DIR)/bench/core_bench
	@BENCH_COMMAND="make bench" scripts/bench-resolver.sh

# The labelled corpus through `fluxctl replay`: writes docs/accuracy.md.
accuracy: configure geo
	@cmake --build $(CMAKE_DIR) -j$(JOBS) --target fluxctl -- --no-print-directory
	@corpus/run-accuracy.sh

clean:
	rm -rf $(CMAKE_DIR)

# --- benchmarks against stock Unbound, fuzzing, sanitizers --------------------
.PHONY: bench-resolver fuzz sanitize sanitize-asan sanitize-tsan

# Stock Unbound vs Unbound + fluxguard with dnsperf (bench/README.md), alone.
bench-resolver: configure
	@BENCH_COMMAND="make bench-resolver" scripts/bench-resolver.sh

# libFuzzer targets (fuzz/), FUZZ_SECONDS each after replaying fuzz/regressions.
FUZZ_SECONDS ?= 60
fuzz: unbound
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Unit and end-to-end tests under ASan+UBSan, then TSan (build/asan, build/tsan).
sanitize: sanitize-asan sanitize-tsan

sanitize-asan: unbound
	@scripts/sanitize.sh asan

sanitize-tsan: unbound
	@scripts/sanitize.sh tsan

# SPDX-License-Identifier: MIT
# Thin wrapper over CMake. Targets:
#   make               Release build in build/release
#   make demo          build and run the demo (needs no test dependency)
#   make check         install missing test packages (as root, with apt-get), then
#                      build and run every test: Release, docs, install check,
#                      ASan+UBSan, TSan (thread tests), lint and valgrind
#                      (docs/ROBUSTNESS.md). A check whose tool is missing is
#                      SKIPPED, saying so; SP_CHECK_STRICT=1 fails instead (CI).
#   make bench         run the benchmarks
#   make docs          reference documentation (doxygen): build/release/docs/
#   make lint          cppcheck + clang-tidy over src/ include/ tools/, format, SPDX
#                      and layer checks (no circle, the slot policy
#                      sealed, the design map current)
#   make valgrind      every test under valgrind memcheck, no errors or leaks
#   make fuzz          each libFuzzer target FUZZ_SECONDS seconds (not in check)
#   make install PREFIX=/usr/local
#   make clean
# V=1 shows CMake's and the compiler's output, which builds otherwise keep
# in BUILD/configure.log and BUILD/build.log unless something fails.
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE  ?= cmake
CTEST  ?= ctest
B      := build

MAKEFLAGS += --no-print-directory
export JOBS CMAKE V
# Checks skipped for a missing tool are listed here; make check prints them.
export SP_SKIP_LOG := $(CURDIR)/$(B)/skipped.txt

BUILD := scripts/cmake-build.sh
NEED  := scripts/need.sh
# Tests of the check builds need cmocka: without it they fail, not skip.
TESTS_REQUIRED := -DSP_REQUIRE_CMOCKA=ON

.PHONY: all build check deps check-release check-asan check-tsan check-install \
	asan-tests tsan-tests docs docs-build demo bench install lint valgrind fuzz clean

all: build

build:
	@$(BUILD) $(B)/release -DCMAKE_BUILD_TYPE=Release

deps:
	@scripts/install-deps.sh

# One step after the other (deps first), each in its own make.
check:
	@rm -f $(SP_SKIP_LOG)
	@scripts/install-deps.sh
	@$(MAKE) check-release
	@$(MAKE) docs
	@$(MAKE) check-install
	@$(MAKE) check-asan
	@$(MAKE) check-tsan
	@$(MAKE) lint
	@$(MAKE) valgrind
	@if [ -s $(SP_SKIP_LOG) ]; then \
	  echo "make check: passed, with these checks SKIPPED (scripts/install-deps.sh lists what to install):"; \
	  sed 's/^/  /' $(SP_SKIP_LOG); \
	else \
	  echo "make check: all checks passed"; \
	fi

check-release:
	@$(BUILD) $(B)/release -DCMAKE_BUILD_TYPE=Release $(TESTS_REQUIRED)
	cd $(B)/release && $(CTEST) --output-on-failure -j $(JOBS)

# Installs build/release (and the man pages, when `make docs` built them) and
# builds against it; then the same for shared-only and static-only trees.
check-install: build
	@scripts/check-install.sh $(B)/release
	@$(BUILD) $(B)/shared-only -DCMAKE_BUILD_TYPE=Release -DSP_BUILD_STATIC=OFF \
	  -DSP_BUILD_TESTS=OFF -DSP_BUILD_TOOLS=OFF -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF
	@scripts/check-install.sh $(B)/shared-only
	@$(BUILD) $(B)/static-only -DCMAKE_BUILD_TYPE=Release -DSP_BUILD_SHARED=OFF \
	  -DSP_BUILD_TESTS=OFF -DSP_BUILD_TOOLS=OFF -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF
	@scripts/check-install.sh $(B)/static-only

check-asan:
	@$(NEED) check-asan cmd:clang asan -- $(MAKE) asan-tests

asan-tests:
	@$(BUILD) $(B)/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  "-DSP_SANITIZE=address;undefined" -DSP_BUILD_BENCH=OFF $(TESTS_REQUIRED)
	cd $(B)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST) --output-on-failure -j $(JOBS) -LE noasan

check-tsan:
	@$(NEED) check-tsan tsan -- $(MAKE) tsan-tests

tsan-tests:
	@$(BUILD) $(B)/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_SANITIZE=thread \
	  -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF $(TESTS_REQUIRED)
	cd $(B)/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -L threads

# HTML and man pages from the public headers; fails on an undocumented symbol.
docs:
	@$(NEED) docs cmd:doxygen -- $(MAKE) docs-build

docs-build: build
	@$(CMAKE) --build $(B)/release --target docs
	@echo "docs: $(B)/release/docs/html/index.html, $(B)/release/docs/man/man3/"

SIM_DEMO := $(B)/release/demo-workload.trace
SIM_PLOT := $(B)/release/demo-sweep.svg
HOST_TRACE := $(B)/release/demo-host.trace
HOST_METRICS := $(B)/release/demo-host.prom
demo: build
	@echo
	@echo "== index allocator: a request stream with and without affinity =="
	@$(B)/release/examples/example_affinity_demo
	@echo
	@echo "== slotpool-sim: tuning max_unused_warm_slots on a bundled workload =="
	@echo "   (50 keys, zipf 1.1, capacity 256, 200000 ops, about 42 slots live at the peak,"
	@echo "    up to 1 MiB resident per freed slot; the budget counts warm slots beyond the live ones)"
	@$(B)/release/tools/slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 \
	  --free-prob 0.55 --bytes-max 1048576 --seed 1 >$(SIM_DEMO)
	@$(B)/release/tools/slotpool-sim sweep $(SIM_DEMO) --capacity 256 --warm 0:128:8 \
	  $$(command -v gnuplot >/dev/null && echo --plot $(SIM_PLOT))
	@if command -v gnuplot >/dev/null; then echo "   picture: $(SIM_PLOT)"; else \
	  echo "   (apt-get install gnuplot-nox, and sweep --plot FILE.svg draws the curve)"; fi
	@echo
	@echo "== memory pool: a toy function host: pool vs no affinity vs malloc+memcpy vs mmap+memcpy =="
	@$(B)/release/examples/example_host --record $(HOST_TRACE) --metrics $(HOST_METRICS)
	@echo "   a few of its metrics (all of them: $(HOST_METRICS)):"
	@grep -E '^slotpool_mempool_(affine_hits_total|remaps_total|resident_warm_bytes|path_info)' \
	  $(HOST_METRICS) | sed 's/^/     /'
	@echo
	@echo "== the loop: the host recorded its traffic; slotpool-sim says which warm budget to choose =="
	@$(B)/release/tools/slotpool-sim sweep $(HOST_TRACE) --capacity 12 --warm 0:12:1 | tail -n 3

# Benchmarks print ratios measured in one run; docs/PERFORMANCE.md keeps the
# latest tables. BENCH_ROUNDS sets the rounds whose median is reported.
BENCH_ROUNDS ?= 5
bench: build
	@echo "== index allocator: bytes per slot =="
	$(B)/release/bench/bench_memory 1000000 1
	$(B)/release/bench/bench_memory 1000000 16
	@echo; echo "== index allocator: the lock floor =="
	$(B)/release/bench/bench_lock
	@echo; echo "== index allocator: replay against the seed (one shard) =="
	bench/replay_matrix.sh $(B)/release $(BENCH_ROUNDS)
	@echo; echo "== index allocator: threads and shards =="
	bench/mt_matrix.sh $(B)/release $(BENCH_ROUNDS)
	@echo; echo "== index allocator: the cost of recording =="
	$(B)/release/bench/bench_record
	@echo; echo "== memory pool: instantiate latency =="
	$(B)/release/bench/bench_mempool
	@echo; echo "== memory pool: two threads =="
	$(B)/release/bench/bench_mempool --threads 2

FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# All run even when one fails; any failing fails lint.
lint:
	@s=0; scripts/lint.sh || s=1; scripts/format-check.sh || s=1; scripts/check-spdx.sh || s=1; \
	  $(NEED) lint/layers cmd:python3 -- scripts/check-layers.py || s=1; exit $$s

valgrind:
	@scripts/valgrind.sh

install: build
	$(CMAKE) --install $(B)/release --prefix $(PREFIX)

clean:
	rm -rf $(B)

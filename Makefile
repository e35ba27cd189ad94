# Thin wrapper over CMake. Targets:
#   make               Release build in build/release
#   make check         install missing test packages, then build and run every
#                      test: Release, ASan+UBSan, TSan (thread tests), install check,
#                      then lint and valgrind (docs/ROBUSTNESS.md)
#   make demo          build and run the demo
#   make bench         run the benchmarks
#   make lint          cppcheck + clang-tidy over src/ include/ tools/ (scripts/lint.sh)
#   make valgrind      every test under valgrind memcheck, no errors or leaks
#   make fuzz          each libFuzzer target FUZZ_SECONDS seconds (not in check)
#   make install PREFIX=/usr/local
#   make clean
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE  ?= cmake
CTEST  ?= ctest
B      := build

.PHONY: all build check check-release check-asan check-tsan deps demo bench install lint valgrind fuzz clean

all: build

build:
	$(CMAKE) -S . -B $(B)/release -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(B)/release -j $(JOBS)

deps:
	@scripts/install-deps.sh

check: deps check-release check-asan check-tsan lint valgrind
	@echo "make check: all test builds passed"

check-release: build
	cd $(B)/release && $(CTEST) --output-on-failure -j $(JOBS)
	scripts/check-install.sh $(B)/release

check-asan:
	$(CMAKE) -S . -B $(B)/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  "-DSP_SANITIZE=address;undefined" -DSP_BUILD_BENCH=OFF
	$(CMAKE) --build $(B)/asan -j $(JOBS)
	cd $(B)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST) --output-on-failure -j $(JOBS) -LE noasan

check-tsan:
	$(CMAKE) -S . -B $(B)/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_SANITIZE=thread \
	  -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF
	$(CMAKE) --build $(B)/tsan -j $(JOBS)
	cd $(B)/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -L threads

SIM_DEMO := $(B)/release/demo-workload.trace
demo: build
	$(B)/release/examples/example_affinity_demo
	@echo
	@echo "== slotpool-sim: tuning max_unused_warm_slots on a bundled workload =="
	@echo "   (50 keys, zipf 1.1, capacity 256, 200000 ops, up to 1 MiB resident per freed slot)"
	$(B)/release/tools/slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 \
	  --free-prob 0.52 --bytes-max 1048576 --seed 1 >$(SIM_DEMO)
	$(B)/release/tools/slotpool-sim sweep $(SIM_DEMO) --capacity 256 --warm 0:128:8
	@echo
	@echo "== memory pool: a toy function host, affinity vs none vs mmap+memcpy =="
	$(B)/release/examples/example_host

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
	@echo; echo "== memory pool: instantiate latency =="
	$(B)/release/bench/bench_mempool

FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

lint:
	scripts/lint.sh

valgrind:
	scripts/valgrind.sh

install: build
	$(CMAKE) --install $(B)/release --prefix $(PREFIX)

clean:
	rm -rf $(B)

# The two commands of the README, plus the build steps behind them.
# Every target first installs any missing Debian package (scripts/install-deps.sh).

PORT ?= 6000
NETWORK ?= http
RELEASE_DIR := build/release
TEST_DIR := build/test
PYTHON := /usr/bin/python3
JOBS := $(shell nproc)

.PHONY: all deps build run test test-build unit functional fuzz clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCC_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

run: build
	./$(RELEASE_DIR)/cheesed --network $(NETWORK) --port $(PORT) --datadir ./data/$(NETWORK)-$(PORT)

test-build: deps
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DCC_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)

unit: test-build
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)

functional: test-build
	CHEESE_BUILD=$(CURDIR)/$(TEST_DIR) $(PYTHON) -m pytest -q -p no:cacheprovider tests/functional

# The release build is part of the test: -O2 finds warnings (maybe-uninitialized
# and the like) that the sanitizer build does not.
test: build unit functional

# libFuzzer targets (clang, ASan + UBSan), each run for FUZZ_SECONDS on the
# seed corpus in fuzz/corpus/<target> (copied, so the repository stays clean).
FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_DIR) -DCC_FUZZ=ON -DCC_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS)
	@for target in $(FUZZ_DIR)/fuzz_*; do \
	  name=$$(basename $$target); work=$(FUZZ_DIR)/corpus/$$name; mkdir -p $$work; \
	  seeds=fuzz/corpus/$${name#fuzz_}; [ -d $$seeds ] && cp -n $$seeds/* $$work/ 2>/dev/null; \
	  echo "== $$name for $(FUZZ_SECONDS) s"; \
	  $$target -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$work 2>&1 | tail -n 4 || exit 1; \
	done

clean:
	rm -rf build

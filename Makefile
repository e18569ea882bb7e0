# The two commands of the README, plus the build steps behind them.
# Every target first installs any missing Debian package (scripts/install-deps.sh).

PORT ?= 6000
NETWORK ?= http
RELEASE_DIR := build/release
TEST_DIR := build/test
PYTHON := /usr/bin/python3
JOBS := $(shell nproc)

.PHONY: all deps build run test test-build unit functional clean

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
	CHEESE_LIVENESS_S=3 CHEESE_BUILD=$(CURDIR)/$(TEST_DIR) $(PYTHON) -m pytest -q -p no:cacheprovider tests/functional

# More targets (fuzzing, benchmarks, ...) live in mk/*.mk; a fragment that
# belongs in `make test` adds its target to TEST_EXTRA.
TEST_EXTRA :=
include $(sort $(wildcard mk/*.mk))

# The release build is part of the test: -O2 finds warnings (maybe-uninitialized
# and the like) that the sanitizer build does not.
test: build unit functional $(TEST_EXTRA)

clean:
	rm -rf build

.PHONY: fuzz fuzz-short fuzz-build

# libFuzzer targets (fuzz/, clang with ASan + UBSan) in their own build
# directory. fuzz/run.sh copies the seeds of fuzz/corpus/ and
# fuzz/regressions/ into working corpora under that directory, so the
# repository stays clean, runs FUZZ_JOBS targets at a time and prints one
# line per target. `make fuzz` runs each for FUZZ_SECONDS, its corpora
# growing from run to run; `make test` runs `fuzz-short`, each for 30 s from
# the seeds, and fails on any crash.
FUZZ_DIR ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SHORT_SECONDS := 30
FUZZ_JOBS ?= 2

fuzz-build: deps
	@cmake -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCC_FUZZ=ON -DCC_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_DIR) --target fuzz_all -j $(JOBS)

fuzz: fuzz-build
	@./fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_JOBS)

fuzz-short: fuzz-build
	@./fuzz/run.sh --fresh $(FUZZ_DIR) $(FUZZ_SHORT_SECONDS) $(FUZZ_JOBS)

TEST_EXTRA += fuzz-short

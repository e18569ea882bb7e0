.PHONY: fuzz

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

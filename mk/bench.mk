.PHONY: bench

# `make bench`: its own optimised build (build/bench), then every benchmark
# module scripts/bench/bench_*.py, each figure beside its anchor; the table
# goes to the terminal and to docs/benchmarks.md. `make bench ONLY=mining`
# (or ONLY=getdata,tracker) runs some modules and leaves the document alone.
BENCH_DIR := build/bench
bench:
	@./scripts/install-deps.sh bench
	@cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DCC_TESTS=OFF >/dev/null
	@cmake --build $(BENCH_DIR) -j $(JOBS)
	CHEESE_BENCH_COMMAND="make bench$(if $(ONLY), ONLY=$(ONLY))" \
	  $(PYTHON) scripts/bench/run.py --build $(BENCH_DIR) $(if $(ONLY),--only $(ONLY))

.PHONY: interop

# The interop tests alone: our nodes beside the reference implementations
# (docs/interop.md). They are part of `make functional` too. The references
# are looked for in $(CHEESE_REFS), by default ../shared/refs beside the
# clone; without them the tests are skipped, saying why.
interop: test-build
	CHEESE_LIVENESS_S=3 CHEESE_BUILD=$(CURDIR)/$(TEST_DIR) $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests/functional/test_interop_http.py tests/functional/test_interop_cheese.py

.PHONY: valgrind-build valgrind valgrind-short

# The functional tests under valgrind's memcheck (docs/testing.md): a build
# without sanitizers (memcheck and ASan cannot share a process), reached
# through the links in scripts/valgrind/bin, which stand in for a build
# directory. Every process writes its own log; check-logs fails on any
# error or definite/indirect leak in them, whatever pytest made of the run.
VALGRIND_DIR := build/valgrind
# Test timeouts are multiplied by this: memcheck runs a node 10 to 50 times
# slower, and serialises its threads, so mining starves the event loop.
VALGRIND_SLOW ?= 4
# Each run keeps the memcheck logs in $(1)/ and the tests' folders (the
# nodes' own logs) in $(1)-tests/ until the next run.
VALGRIND_PYTEST = CHEESE_BUILD=$(CURDIR)/scripts/valgrind/bin \
	CHEESE_MEMCHECK_BUILD=$(CURDIR)/$(VALGRIND_DIR) CHEESE_MEMCHECK_LOGS=$(CURDIR)/$(1) \
	CHEESE_SLOW=$(VALGRIND_SLOW) $(PYTHON) -m pytest -q -p no:cacheprovider \
	--basetemp=$(CURDIR)/$(1)-tests
VALGRIND_CHECK = ./scripts/valgrind/check-logs $(1)

valgrind-build: deps
	@cmake -S . -B $(VALGRIND_DIR) -DCMAKE_BUILD_TYPE=Debug -DCC_TESTS=OFF \
	  -DCMAKE_C_FLAGS_DEBUG="-O1 -g -fno-omit-frame-pointer" >/dev/null
	@cmake --build $(VALGRIND_DIR) -j $(JOBS)

# The whole functional suite once: about an hour on 2 cores. Three tests
# are left out because under memcheck they measure its slowness, not the
# node (docs/testing.md).
VALGRIND_SKIP := \
	tests/functional/test_http_node.py::test_answers_while_mining_a_big_block \
	tests/functional/test_http_network.py::test_twenty_transactions_land_once_and_sink_hears_each_once_per_node \
	tests/functional/test_crash_safety.py::test_http_node_survives_sigkill
valgrind: valgrind-build
	@rm -rf $(VALGRIND_DIR)/memcheck-full
	@status=0; $(call VALGRIND_PYTEST,$(VALGRIND_DIR)/memcheck-full) \
	  $(addprefix --deselect ,$(VALGRIND_SKIP)) tests/functional || status=1; \
	  $(call VALGRIND_CHECK,$(VALGRIND_DIR)/memcheck-full) || status=1; exit $$status

# Part of `make test`: four to five minutes, chosen for coverage rather than
# by file: both networks, the tracker, relay, a reorganisation, restarts, a
# 1,000-block sync, the JSON API, cheese-cli, cheese-devnet and its children,
# and bad input of each kind (bodies, nesting, sizes, headers, usage).
VALGRIND_SHORT_FILES := $(addprefix tests/functional/,test_cheese_tracker.py \
	test_cheese_network.py test_http_node.py test_http_sync.py test_http_api.py \
	test_http_bad_input.py test_cli.py test_devnet.py test_metrics.py test_pyrepr.py)
VALGRIND_SHORT_K := test_cheese_network or test_metrics or greeting_joins or garbage_and_huge \
	or invalid_ids or flags_help or fork_then_reorg or restart_keeps or keep_alive_and_pipelined \
	or command_line_errors or spread_and_orphans or 1000_block or pages_by_id or test_info \
	or send_then_mine or token_required or nesting or non_utf8 or oversized_body_until_close \
	or headers_too_large or bad_usage or block_by_height or send_refused or node_down \
	or mine_wait or cheese_devnet or special_values or ints_match
valgrind-short: valgrind-build
	@rm -rf $(VALGRIND_DIR)/memcheck-short
	@status=0; $(call VALGRIND_PYTEST,$(VALGRIND_DIR)/memcheck-short) \
	  -k '$(VALGRIND_SHORT_K)' $(VALGRIND_SHORT_FILES) || status=1; \
	  $(call VALGRIND_CHECK,$(VALGRIND_DIR)/memcheck-short) || status=1; exit $$status

TEST_EXTRA += valgrind-short

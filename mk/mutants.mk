.PHONY: mutants mutants-check

# `make mutants`: every mutant of tests/mutants.toml applied alone to a
# scratch copy of the tree (build/mutants), built without sanitizers and run
# against the tests that must catch it; fails naming any that survives, or
# any whose code has moved (docs/testing.md). `make mutants ONLY=a,b` runs
# some of them. CI runs it after `make test`.
mutants: deps
	$(PYTHON) scripts/mutants.py $(if $(ONLY),--only $(ONLY))

# Part of `make test` (a second): every mutant's text is still found once,
# so a change that moves or drops a guarded check fails at once, not only
# when the whole suite next runs.
mutants-check:
	@$(PYTHON) scripts/mutants.py --check

TEST_EXTRA += mutants-check

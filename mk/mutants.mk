.PHONY: mutants

# `make mutants`: every mutant of tests/mutants.toml applied alone to a
# scratch copy of the tree (build/mutants), built without sanitizers and run
# against the tests that must catch it; fails naming any that survives, or
# any whose code has moved (docs/testing.md). `make mutants ONLY=a,b` runs
# some of them.
mutants: deps
	$(PYTHON) scripts/mutants.py $(if $(ONLY),--only $(ONLY))

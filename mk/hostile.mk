.PHONY: hostile-release

# The hostile-client tests once more against the release build, where the
# node's promise (a well-behaved client answered within 1 s, whatever the
# attack) is held to the second; the sanitizer run in `make functional`
# checks memory safety under the same attacks with a looser deadline.
hostile-release: build
	CHEESE_BUILD=$(CURDIR)/$(RELEASE_DIR) $(PYTHON) -m pytest -q -p no:cacheprovider tests/functional/test_hostile.py

TEST_EXTRA += hostile-release

.PHONY: install uninstall

# `make install`: the release build, then its four programs into
# $(PREFIX)/bin, a man page and a bash completion for each (made from the
# program's own --help, scripts/gen-man.py and scripts/gen-completion.py)
# and the systemd units of packaging/systemd into $(UNITDIR), whose ExecStart
# names $(PREFIX)/bin; DESTDIR stages it all for a package (docs/install.md).
# `make uninstall` removes exactly those files. The work is done by
# scripts/install.py, which the tests run against their own build.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL_DIRS = --prefix "$(PREFIX)" --destdir "$(DESTDIR)" --bindir "$(BINDIR)" \
	--mandir "$(MANDIR)" --unitdir "$(UNITDIR)" --completiondir "$(COMPLETIONDIR)"

install: build
	@$(PYTHON) scripts/install.py install --build $(RELEASE_DIR) $(INSTALL_DIRS)

uninstall:
	@$(PYTHON) scripts/install.py uninstall $(INSTALL_DIRS)

# bucket-delta: `make demo` and `make test` work on a fresh Debian machine (as root, or with sudo).
SHELL := /bin/bash
PREFIX ?= /usr/local

.PHONY: all deps build release test lint format demo install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	swift build

# The release binary carries the Swift runtime and Foundation (--static-swift-stdlib): each worker process
# starts without loading their shared libraries, and the binary runs where only libcurl, libyaml and
# OpenSSL are installed.
release: deps
	swift build -c release --static-swift-stdlib

test: deps
	@scripts/install-deps.sh --test
	@scripts/run-tests.sh

# The format gate: .swift-format (swift-format ships with the toolchain), checked strictly.
lint:
	swift format lint --strict -r Sources Tests Package.swift

format:
	swift format format -i -r Sources Tests Package.swift

demo: deps
	@scripts/demo.sh

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 "$$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta" $(DESTDIR)$(PREFIX)/bin/bucket-delta
	bin="$$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta"; \
	  "$$bin" --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bucket-delta; \
	  "$$bin" --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_bucket-delta; \
	  "$$bin" --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/bucket-delta.fish

clean:
	rm -rf .build

# bucket-delta: `make demo` and `make test` work on a fresh Debian machine (as root, or with sudo).
SHELL := /bin/bash
PREFIX ?= /usr/local

.PHONY: all deps build release test demo install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build -c release

test: deps
	@scripts/run-tests.sh

demo: deps
	@scripts/demo.sh

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 "$$(swift build -c release --show-bin-path)/bucket-delta" $(DESTDIR)$(PREFIX)/bin/bucket-delta

clean:
	rm -rf .build

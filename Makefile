# Two commands do all the set-up on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG := 15
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends

ASSETS := mapsvc/layers/assets

.PHONY: demo test bench stop system browser whole-browser

## demo: install what is missing, start the embedded PostGIS, load the demo, serve :8000
## (with the demo kept alive beside the server, until it stops)
demo: system $(VENV)/.installed $(ASSETS)/node_modules/.installed
	$(BIN)/mapsvc db upgrade
	$(BIN)/mapsvc demo load
	$(BIN)/mapsvc demo live & live=$$!; $(BIN)/mapsvc serve; served=$$?; kill $$live 2>/dev/null; exit $$served

## test: the whole suite, its files spread over the cores (each process on a throwaway
## database of its own in the embedded cluster)
test: system browser $(VENV)/.installed $(ASSETS)/node_modules/.installed
	$(BIN)/pytest --numprocesses auto --maxprocesses 4 --dist loadfile \
	  --no-loadscope-reorder

## bench: scale figures (65,000 grids, 1,000,000 incidents), one per line
bench: system browser whole-browser $(VENV)/.bench-installed $(ASSETS)/node_modules/.installed
	@command -v wrk >/dev/null || ($(SUDO) apt-get update -q && $(APT) wrk)
	$(BIN)/python -m benchmarks

## stop: stop the server and the embedded cluster
stop:
	@if [ -x $(BIN)/mapsvc ]; then $(BIN)/mapsvc stop; fi

# PostgreSQL + PostGIS and Python's venv from apt, only when missing.
system:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	   || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -q && $(APT) postgresql-$(PG) postgresql-$(PG)-postgis-3; fi
	@if ! python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  $(SUDO) apt-get update -q && $(APT) python3 python3-venv python3-dev; fi
	@command -v npm >/dev/null || ($(SUDO) apt-get update -q && $(APT) nodejs npm)

# Debian's Chromium, its headless shell for the page tests and the whole browser for the wall's
# benchmark (Playwright drives them; it downloads no browser).
browser:
	@command -v chromium-headless-shell >/dev/null \
	  || ($(SUDO) apt-get update -q && $(APT) chromium-headless-shell)

whole-browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -q && $(APT) chromium)

# Leaflet, its plugins, the fonts and Swagger UI, from the npm registry, served by mapsvc
# itself; no package's install script runs (Swagger UI's would report the install to a tracker).
$(ASSETS)/node_modules/.installed: $(ASSETS)/package-lock.json
	cd $(ASSETS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	# the packages' own docs and demos load their libraries from CDNs: keep only what pages use
	find $(ASSETS)/node_modules -type f \( -iname '*.md' -o -iname '*.markdown' \
	  -o -iname '*.html' -o -iname '*.htm' -o -iname '*.hbs' \) -delete
	touch $@

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

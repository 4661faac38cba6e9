# make run: install (into .venv, created when missing) and open the app on the default scenario.
# make test: install with the test extra and run the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# apt needs root: sudo when not already root (CI runs as root)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench install clean browser-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/rnntui

test: $(STAMP)
	$(BIN)/python -m pytest -q

# make browser-deps: what tests/browser needs: Debian's chromium (apt, when missing; CI runs as
# root) and the web extra with Playwright (its own browser download is never used).
browser-deps: $(STAMP)
	command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	$(BIN)/python -m pip install -q -e '.[test,browser]'

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info

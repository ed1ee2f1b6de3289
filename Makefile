# Two entry points, both idempotent: `make run` (set up, then record on the simulated arm in the
# console) and `make test` (set up, then run the tests). Everything the project needs is installed
# here: Debian packages (when apt-get is there), a venv, the CPU build of torch, then the project.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := espeak-ng libespeak-ng1 tmux sox
TORCH := torch==2.13.0
# pip's notes about index folders this machine's pip configuration names but lacks
QUIET_PIP := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: setup run test bench lint clean
setup: $(VENV)/.deps

$(VENV)/.apt:
	@mkdir -p $(VENV)
	@if command -v apt-get >/dev/null 2>&1; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	fi
	@touch $@

$(VENV)/.deps: pyproject.toml $(VENV)/.apt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q $(TORCH) 2>&1 | $(QUIET_PIP)
	@$(BIN)/pip install -q -e ".[dev,gamepad]" 2>&1 | $(QUIET_PIP)
	@touch $@

# Each run records a new dataset, stamped with the time as lerobot 0.6 stamps new repo ids.
run: setup
	$(BIN)/lerecord --config examples/sim_session.toml \
	  --dataset.repo_id=local/sim_pick_place_$$(date +%Y%m%d_%H%M%S)

test: setup
	$(BIN)/ruff check core hardware tui tests bench
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check core hardware tui tests bench

clean:
	rm -rf $(VENV)

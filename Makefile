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

# The real lerobot 0.6.1 for the interop tests: its own Python 3.12 environment, cached outside
# the clone (lerobot 0.6.1 needs Python >= 3.12; on x86-64 Linux PyPI's torch for it is a CUDA
# build of a few GB, downloaded once). The stamp names the requirements, so a change rebuilds it.
INTEROP_SPEC := lerobot[dataset,grpcio-dep]==0.6.1
INTEROP_HOME ?= $(HOME)/.cache/lerecord
INTEROP := $(INTEROP_HOME)/lerobot-0.6.1-py3.12
INTEROP_STAMP := $(INTEROP)/.ok-$(shell echo '$(INTEROP_SPEC)' | cksum | cut -d' ' -f1)
# Added on top (no rebuild): lerobot's Diffusion (diffusers), deepdiff (its FeetechMotorsBus, for
# its robot client in bench/bench_remote_policy.py), and lerecord's own runtime packages
# that lerobot lacks, so lerecord runs from the clone in that Python with lerobot's policy classes.
INTEROP_ADDED := "lerobot[diffusion,deepdiff-dep]==0.6.1" "textual>=0.80" "rich>=13" "pyserial>=3.5" \
  "feetech-servo-sdk>=1.0" "pyttsx3>=2.90" "pyzmq>=25"
INTEROP_ADDED_STAMP := $(INTEROP)/.added-$(shell echo '$(INTEROP_ADDED)' | cksum | cut -d' ' -f1)
# The robot computer: lerecord's dependencies and onnxruntime, no torch, in the machine's Python,
# cached outside the clone like the interop env (the clone itself runs there from PYTHONPATH).
# tests/test_no_torch.py records a session in it with an ONNX export. The stamp names the list.
NOTORCH_REQS := $(shell $(PYTHON) tests/no_torch_requirements.py | tr '\n' ' ' | cksum | cut -d' ' -f1)
NOTORCH := $(INTEROP_HOME)/notorch-$(shell $(PYTHON) -c 'import sys; print("py%d.%d" % sys.version_info[:2])')
NOTORCH_STAMP := $(NOTORCH)/.ok-$(NOTORCH_REQS)
# The first Python 3.12 that runs (a pyenv shim is on PATH even when 3.12 is not the active version).
PYTHON312 ?= $(shell for p in $$(command -v python3.12) $(HOME)/.pyenv/versions/3.12*/bin/python; do \
  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)

# The layer contracts, checked quietly: import-linter's report is printed only when one breaks.
LINT_IMPORTS := out=$$($(BIN)/lint-imports --no-logo 2>&1) || { echo "$$out" >&2; exit 1; }

.PHONY: setup interop notorch run test bench lint clean
setup: $(VENV)/.deps

interop: $(INTEROP_STAMP) $(INTEROP_ADDED_STAMP)

$(INTEROP_STAMP):
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "ERROR: Python 3.12 is needed for the lerobot 0.6.1 interop tests and was not found." >&2; \
	  echo "       Install it (pyenv install 3.12, apt-get install python3.12, brew install python@3.12)" >&2; \
	  echo "       or set PYTHON312=/path/to/python3.12." >&2; exit 1; fi
	@echo "Building the lerobot 0.6.1 interop environment in $(INTEROP) (once; a few minutes)"
	@rm -rf $(INTEROP) && $(PYTHON312) -m venv $(INTEROP)
	@$(INTEROP)/bin/pip install -q "$(INTEROP_SPEC)" 2>&1 | $(QUIET_PIP)
	@$(INTEROP)/bin/python -c "import lerobot, torch, grpc" || { echo "ERROR: the interop environment does not import lerobot" >&2; exit 1; }
	@touch $@

$(INTEROP_ADDED_STAMP): $(INTEROP_STAMP)
	@$(INTEROP)/bin/pip install -q $(INTEROP_ADDED) 2>&1 | $(QUIET_PIP)
	@touch $@

notorch: $(NOTORCH_STAMP)

$(NOTORCH_STAMP):
	@echo "Building the torch-free robot-computer environment in $(NOTORCH) (once)"
	@rm -rf $(NOTORCH) && $(PYTHON) -m venv $(NOTORCH)
	@$(PYTHON) tests/no_torch_requirements.py > $(NOTORCH)/requirements.txt
	@$(NOTORCH)/bin/pip install -q -r $(NOTORCH)/requirements.txt 2>&1 | $(QUIET_PIP)
	@if $(NOTORCH)/bin/python -c "import torch" 2>/dev/null; then echo "ERROR: torch got into $(NOTORCH)" >&2; exit 1; fi
	@$(NOTORCH)/bin/python -c "import onnxruntime, numpy" || { echo "ERROR: $(NOTORCH) lacks onnxruntime" >&2; exit 1; }
	@touch $@

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
	@$(BIN)/pip install -q -e ".[dev,gamepad,remote,onnx]" 2>&1 | $(QUIET_PIP)
	@touch $@

# Each run records a new dataset, stamped with the time as lerobot 0.6 stamps new repo ids.
run: setup
	$(BIN)/lerecord --config examples/sim_session.toml

test: setup interop notorch
	$(BIN)/ruff check core hardware tui tests bench
	$(BIN)/ruff format --check core hardware tui tests bench
	@$(LINT_IMPORTS)
	$(BIN)/mypy
	LERECORD_LEROBOT_PYTHON=$(INTEROP)/bin/python LERECORD_NOTORCH_PYTHON=$(NOTORCH)/bin/python \
	  $(BIN)/python -m pytest -n auto --dist loadgroup

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check core hardware tui tests bench
	@$(LINT_IMPORTS)
	$(BIN)/mypy

clean:
	rm -rf $(VENV)

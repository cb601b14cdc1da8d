# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test faults bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build on disk, never the multi-GB CUDA build
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/flywheel demo

test: $(STAMP)
	$(BIN)/python -m pytest

faults: $(STAMP)
	$(BIN)/python -m pytest -m faults

bench: $(STAMP)
	mkdir -p bench/results
	for name in broker features streams train serve gates anonymizer; do $(BIN)/flywheel bench $$name --json bench/results/$$name.json; done

clean:
	rm -rf $(VENV) .flywheel build *.egg-info

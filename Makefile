# lmforge: `make run` and `make test` work on a fresh machine (they create .venv on first use).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint bench clean

install: $(STAMP)

# torch 2.13.0 first, with pip: it is the CPU build on disk; anything that resolves torch later then finds it
# satisfied. The rest with uv, which downloads and installs in parallel (39 s against pip's 110 s for the same set
# on a fresh venv here); pip takes over if uv cannot run.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m uv pip install -q --python $(BIN)/python -e '.[dev]' \
	  || $(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -c "import torch; assert not torch.version.cuda, 'a CUDA build of torch was installed'"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lmforge run

# The whole suite, as CI runs it.
test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=25

# The inner loop: every module's unit tests, no Ray cluster, no Prefect API, no pipeline, no training.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/dedup.py

clean:
	rm -rf $(VENV) runs .pytest_cache

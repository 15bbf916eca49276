# The README's two commands: `make run` (the demo on bundled data, then the dashboard) and `make test`.
# Both create .venv and install the project on first use (and again when pyproject.toml changes).
# .venv is made from Debian's CPython 3.11 when it is there with venv support: it is built with PGO and LTO,
# and the extractor runs 10–20% faster on it than on a plain source build of 3.11 such as pyenv's
# (bench/RESULTS.md). Otherwise from python3; `make PYTHON=/path/to/python3` chooses.
DEBIAN_PY := /usr/bin/python3.11
PYTHON ?= $(shell $(DEBIAN_PY) -c 'import ensurepip, venv' >/dev/null 2>&1 && echo $(DEBIAN_PY) || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint bench gold clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sarcoma-evidence demo
	@echo "Notebooks for analysts (rerun pooled estimates, sensitivity, extraction review): notebooks/"
	@echo "  open them with: $(BIN)/jupyter lab notebooks/"
	@echo "Dashboard: http://localhost:8501/ (Ctrl+C to stop)"
	$(BIN)/sarcoma-evidence dashboard --db sqlite:///demo.db --port 8501

demo: run

# pytest exits 5 when it collects no test: that is a failure here, never a pass.
test: $(STAMP)
	@$(BIN)/python -m pytest; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check evidence extraction meta dashboards tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_pooling.py
	$(BIN)/python bench/bench_extraction.py

gold: $(STAMP)
	$(BIN)/sarcoma-evidence extract ../shared/gold/dev/*.txt --out /tmp/pred_dev.jsonl
	$(BIN)/python ../shared/gold/score.py ../shared/gold/dev /tmp/pred_dev.jsonl
	$(BIN)/sarcoma-evidence extract ../shared/gold/synthetic/*.txt --out /tmp/pred_syn.jsonl
	$(BIN)/python ../shared/gold/score.py ../shared/gold/synthetic /tmp/pred_syn.jsonl

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache

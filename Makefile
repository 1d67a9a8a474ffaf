# Founder Course — the two commands of the Quickstart are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app course
MERMAID_VERSION := 12.3.0
MERMAID := course/static/vendor/mermaid.min.js
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup run test lint clean

setup: $(VENV)/.installed $(MERMAID)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Mermaid (renders the course's diagrams) is installed from npm and served by the app: no CDN.
$(MERMAID):
	@mkdir -p course/static/vendor .cache/npm
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing mermaid@$(MERMAID_VERSION) from npm"; \
		npm install --silent --no-audit --no-fund --prefix .cache/npm mermaid@$(MERMAID_VERSION) && \
		cp .cache/npm/node_modules/mermaid/dist/mermaid.min.js $@; \
	else \
		echo "npm not found: diagrams will be shown as their text source (install Node.js to render them)"; \
	fi

run: setup
	$(FLASK) db upgrade
	$(FLASK) content load
	$(FLASK) demo accounts
	@echo "Founder Course is running at http://$(HOST):$(PORT)/"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check course tests config.py

clean:
	rm -rf $(VENV) .cache course/static/vendor instance

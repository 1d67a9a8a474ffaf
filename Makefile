# Founder Course — the two commands of the Quickstart are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app course
MERMAID_VERSION := 12.3.0
MERMAID := course/static/vendor/mermaid.min.js
AXE_VERSION := 4.14.1
AXE := tests/e2e/vendor/axe.min.js
# Source Sans 3, the Latin of Noto Sans CJK (Source Han Sans): its variable font, Latin subset, upright only.
FONT_VERSION := 5.3.1
FONT_DIR := course/static/vendor/fonts
FONT := $(FONT_DIR)/source-sans-3-latin-wght-normal.woff2
HOST ?= 127.0.0.1
PORT ?= 5000
# UI translations (Flask-Babel looks in `translations/` next to the app package, i.e. course/translations).
I18N := course/translations
PO_FILES := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: setup run test lint clean translations

setup: $(VENV)/.installed $(MERMAID) $(AXE) $(FONT) $(MO_FILES)

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

# axe-core (the accessibility checker the browser tests inject into each page) is installed from npm too.
# Without it, or without Chromium, the tests in tests/e2e are skipped and say why.
$(AXE):
	@mkdir -p tests/e2e/vendor .cache/npm
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing axe-core@$(AXE_VERSION) from npm"; \
		npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_VERSION) && \
		cp .cache/npm/node_modules/axe-core/axe.min.js $@; \
	else \
		echo "npm not found: the accessibility checks in tests/e2e will be skipped (install Node.js to run them)"; \
	fi

# The Latin typeface (course/static/css/app.css) is installed from npm and served by the app too, with its licence
# (SIL OFL 1.1) beside it. Without it, pages use the system's fonts.
$(FONT):
	@mkdir -p $(FONT_DIR) .cache/npm
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing @fontsource-variable/source-sans-3@$(FONT_VERSION) from npm"; \
		npm install --silent --no-audit --no-fund --prefix .cache/npm @fontsource-variable/source-sans-3@$(FONT_VERSION) && \
		cp .cache/npm/node_modules/@fontsource-variable/source-sans-3/LICENSE $(FONT_DIR)/OFL.txt && \
		cp .cache/npm/node_modules/@fontsource-variable/source-sans-3/files/source-sans-3-latin-wght-normal.woff2 $@; \
	else \
		echo "npm not found: pages will use the system's fonts (install Node.js for Source Sans 3)"; \
	fi

# The compiled catalogs (.mo) are build output, not committed (.gitignore): built from the .po files, and
# rebuilt whenever one of them changes. (`-q` is a pybabel option, so it goes before the command.)
$(MO_FILES): $(PO_FILES) | $(VENV)/.installed
	$(BIN)/pybabel -q compile -d $(I18N)

# After adding or changing a UI string: re-extract the template, merge it into every catalog, then translate
# the new (empty) and changed (fuzzy) entries in the .po files. tests/test_i18n.py fails until that is done.
# --ignore-dirs: pybabel skips every directory whose name starts with `_` unless told otherwise, which would
# leave out templates/_macros.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F $(I18N)/babel.cfg -k _l --ignore-dirs ".* __pycache__" \
		--project "Founder Course" --version 0.1.0 --copyright-holder "Founder Course contributors" \
		--add-comments "TRANSLATORS:" -o $(I18N)/messages.pot course templates
	$(BIN)/pybabel -q update -i $(I18N)/messages.pot -d $(I18N) --ignore-obsolete

run: setup
	@mkdir -p instance  # the SQLite database lives here (config.py)
	$(FLASK) db upgrade
	$(FLASK) content load
	$(FLASK) demo accounts --cohort
	@echo "Founder Course is running at http://$(HOST):$(PORT)/ (emails are printed here, by the worker)"
	@# The worker (deliveries, scheduled notices) runs beside the web server and stops with it.
	@$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
		$(FLASK) run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q

# ruff's lint rules and format, and the layers of course/ (import-linter: see docs/ARCHITECTURE.md).
lint: setup
	$(BIN)/ruff check course tests config.py bench migrations
	$(BIN)/ruff format --check course tests config.py bench migrations
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .cache course/static/vendor tests/e2e/vendor instance $(MO_FILES)

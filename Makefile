# Founder Course — the two commands of the Quickstart are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app course
MERMAID_VERSION := 12.3.0
# Mermaid renders the content's diagrams to SVG ahead of time (`make diagrams`); no page loads it.
MERMAID := .cache/npm/node_modules/mermaid/dist/mermaid.min.js
AXE_VERSION := 4.14.1
AXE := tests/e2e/vendor/axe.min.js
# The independent Open Badges verifier (Digital Bazaar's VC libraries), pinned by tests/badges/package-lock.json.
BADGE_VERIFIER := tests/badges/node_modules/.package-lock.json
# Source Sans 3, the Latin of Noto Sans CJK (Source Han Sans): its variable font, Latin subset, upright only.
FONT_VERSION := 5.3.1
FONT_DIR := course/static/vendor/fonts
FONT := $(FONT_DIR)/source-sans-3-latin-wght-normal.woff2
# Swagger UI: the API's reference page (/api/v1/docs), served by the app from static/vendor, no CDN.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI := course/static/vendor/swagger-ui/swagger-ui-bundle.js
HOST ?= 127.0.0.1
PORT ?= 5000
# UI translations (Flask-Babel looks in `translations/` next to the app package, i.e. course/translations).
I18N := course/translations
PO_FILES := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: setup run test lint clean translations diagrams

# The static files under content-hashed names, gzip and brotli copies, and their manifest (course/ops/static.py).
STATIC_BUILD := build/static/manifest.json
STATIC_SOURCES = $(shell find course/static content/diagrams -type f 2>/dev/null)

setup: $(VENV)/.installed $(AXE) $(FONT) $(BADGE_VERIFIER) $(SWAGGER_UI) $(MO_FILES) $(STATIC_BUILD)
	@rm -f course/static/vendor/mermaid.min.js  # served to the pages by older checkouts: no page loads it now

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Mermaid is installed from npm by `make diagrams` only (which renders the content's diagrams to SVG in Chromium).
$(MERMAID):
	@mkdir -p .cache/npm
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing mermaid@$(MERMAID_VERSION) from npm"; \
		npm install --silent --no-audit --no-fund --prefix .cache/npm mermaid@$(MERMAID_VERSION); \
	else \
		echo "npm not found: \`make diagrams\` will not render new diagrams (install Node.js to render them)"; \
	fi

# After adding or changing a diagram in content/: render it (light and dark SVG into content/diagrams, committed).
# Needs Chromium (Debian's package). `content check` warns about every diagram not rendered yet.
diagrams: $(VENV)/.installed $(MERMAID)
	$(FLASK) content diagrams --prune
	$(FLASK) static build

$(STATIC_BUILD): $(STATIC_SOURCES) $(FONT) $(SWAGGER_UI) | $(VENV)/.installed
	@rm -f course/static/vendor/mermaid.min.js
	$(FLASK) static build

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

# The verifier tests/test_badges_node.py runs: installed as its lock file pins. Without Node, that test is skipped.
$(BADGE_VERIFIER): tests/badges/package.json tests/badges/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing the Open Badges verifier (tests/badges) from npm"; \
		npm ci --silent --no-audit --no-fund --prefix tests/badges; \
	else \
		echo "npm not found: tests/test_badges_node.py will be skipped (install Node.js to run it)"; \
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

# Swagger UI renders the API's OpenAPI document at /api/v1/docs; without it, that page links the document.
$(SWAGGER_UI):
	@mkdir -p course/static/vendor/swagger-ui .cache/npm
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing swagger-ui-dist@$(SWAGGER_UI_VERSION) from npm"; \
		npm install --silent --no-audit --no-fund --prefix .cache/npm swagger-ui-dist@$(SWAGGER_UI_VERSION) && \
		cp .cache/npm/node_modules/swagger-ui-dist/swagger-ui.css .cache/npm/node_modules/swagger-ui-dist/LICENSE \
			course/static/vendor/swagger-ui/ && \
		cp .cache/npm/node_modules/swagger-ui-dist/swagger-ui-bundle.js $@; \
	else \
		echo "npm not found: /api/v1/docs will link the OpenAPI document instead (install Node.js for Swagger UI)"; \
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
	rm -rf $(VENV) .cache course/static/vendor tests/e2e/vendor instance build/static $(MO_FILES)

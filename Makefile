# Two commands for a newcomer: `make run` and `make test`. Each sets up only what is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
export TAVOLI_AMBITO ?= 50008

VENV_STAMP   := $(VENV)/.installed
NODE_STAMP   := node_modules/.installed
VENDOR_STAMP := static/vendor/.installed
PO_FILES     := $(wildcard workspace/translations/*/LC_MESSAGES/messages.po)
MO_FILES     := $(PO_FILES:.po=.mo)

.PHONY: run test setup bench lint translations migration clean refdata scaled

run: setup
	$(BIN)/tavoli db upgrade
	$(BIN)/tavoli reference load
	$(BIN)/tavoli demo load --if-empty
	@echo ""
	@echo "  Tavoli è pronto: http://$(HOST):$(PORT)/"
	@echo ""
	PORT=$(PORT) HOST=$(HOST) BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/tavoli serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV_STAMP) $(VENDOR_STAMP) $(MO_FILES)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Serve Python >= 3.11 (PYTHON=$(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Built front-end assets are copied from npm packages, never committed.
$(VENDOR_STAMP): $(NODE_STAMP)
	rm -rf static/vendor
	mkdir -p static/vendor/bootstrap-italia static/vendor/axe-core
	cp -r node_modules/bootstrap-italia/dist/css node_modules/bootstrap-italia/dist/js \
	      node_modules/bootstrap-italia/dist/svg node_modules/bootstrap-italia/dist/fonts \
	      static/vendor/bootstrap-italia/
	cp node_modules/axe-core/axe.min.js static/vendor/axe-core/
	mkdir -p static/vendor/socket.io
	cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io/
	touch $@

%.mo: %.po $(VENV_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

# Developer helpers (not needed by the two commands).
translations: $(VENV_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o workspace/translations/messages.pot .
	$(BIN)/pybabel update -i workspace/translations/messages.pot -d workspace/translations --no-fuzzy-matching

migration: $(VENV_STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

refdata:
	$(BIN)/python -m workspace.reference.build ../shared/domain

bench: setup
	$(BIN)/python -m bench

# The scaled deployment on this machine, for trying it: N gunicorn processes on PostgreSQL + Redis
# behind a sticky proxy on SCALED_PORT (deploy/scaled.py; DATABASE_URL and REDIS_URL may be set).
N ?= 2
SCALED_PORT ?= 8000
scaled: setup
	$(BIN)/python -m deploy.scaled --processes $(N) --port $(SCALED_PORT)

lint: $(VENV_STAMP)
	$(BIN)/ruff check workspace tests bench deploy
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules static/vendor $(MO_FILES)

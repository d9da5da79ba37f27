# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5000
# Links in mails and on statements point at the port the portal runs on, unless set explicitly.
BASE_URL ?= $(or $(PORTAL_BASE_URL),http://127.0.0.1:$(PORT))
# The suite runs in parallel (pytest-xdist), one worker per core; TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto

.PHONY: run test bench screenshots lint translations messages clean browser

# axe-core for the browser journeys (injected into pages; never served to visitors).
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,prod]'
	touch $(STAMP)

translations: $(STAMP)
	@if ls portal/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d portal/translations; fi

# Re-extract every translatable string and merge it into the Dutch catalogue (then translate).
messages: $(STAMP)
	mkdir -p portal/translations
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	@if [ -f portal/translations/nl/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel update --no-fuzzy-matching -w 100 -i portal/translations/messages.pot -d portal/translations -l nl; \
	else $(BIN)/pybabel init -i portal/translations/messages.pot -d portal/translations -l nl; fi

# The portal and one task worker (mails, receipts, reminders, periodic jobs) side by side; Ctrl-C stops both.
run: $(STAMP) translations
	$(BIN)/portal db upgrade
	PORTAL_BASE_URL=$(BASE_URL) $(BIN)/portal demo --if-empty
	PORTAL_BASE_URL=$(BASE_URL) $(BIN)/portal worker & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	PORTAL_BASE_URL=$(BASE_URL) PORTAL_SECURE_COOKIES=0 $(BIN)/flask --app portal run --port $(PORT)

# Python keeps compiled modules (__pycache__, git-ignored) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE): otherwise every test worker and every process a test starts compiles
# the portal and the tests again, and pytest rewrites every test module's asserts again.
test: export PYTHONDONTWRITEBYTECODE :=
test: $(STAMP) translations node_modules/axe-core/axe.min.js
	$(BIN)/portal content check
	$(BIN)/bandit --quiet --recursive portal --severity-level high
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Debian's Chromium for the browser journeys (as root: `sudo make browser`); .ci/run uses it too.
browser:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

bench: $(STAMP) translations
	$(BIN)/python -m bench

# The browser sweep with a screenshot of every page at 1,280 and 390 px (test-artifacts/browser/sweep/).
screenshots: export PYTHONDONTWRITEBYTECODE :=
screenshots: $(STAMP) translations node_modules/axe-core/axe.min.js
	PORTAL_SWEEP_SHOTS=1 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m sweep

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache

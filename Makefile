# The two commands a new user needs (README "Quick start"):
#   make run    start a node on embedded SQLite in ./data (installs everything first)
#   make test   lint, type-check and run the whole test suite (installs everything first)
# Both create the virtual environment .venv from pyproject.toml on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the web app's npm packages, installed by `npm ci` from web/package-lock.json (below)
WEB_DEPS := web/node_modules/.package-lock.json

.PHONY: lock run test test-slow lint typecheck pytest vectors vectors-check bench load clean \
	test-js web web-typecheck web-screenshots web-bench

# Every third-party package comes from the hash-checked lock (requirements/README.md); the two
# local projects are then installed without resolving anything, and `pip check` proves the set
# consistent. A changed lock gives a fresh environment, so nothing stale survives an upgrade.
$(STAMP): requirements/bootstrap.txt requirements/dev.txt pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/bootstrap.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e clients/python
	$(BIN)/python -m pip check
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/registry serve --data-dir ./data

test: lint typecheck web-typecheck vectors-check test-js pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Branch coverage of the whole package is measured; the protocol core must be at 100%.
# The soak loops (>= 100 kill cycles, tens of minutes) are left to `make test-slow`.
pytest: $(STAMP) $(WEB_DEPS)
	$(BIN)/pytest --cov=registry --cov-branch --cov-report= -m "not soak" $(PYTEST_ARGS)
	$(BIN)/coverage report --include='registry/core/*' --show-missing --skip-covered --fail-under=100

# The web app (web/, README "The web app"): its npm packages come from web/package-lock.json
# (npm ci, no install scripts). `make web` rebuilds registry/http/static/web/, which ships in the
# repository so that `make run` needs no Node.js; tests/web/test_serving.py fails when the
# committed build is not what the sources build. The browser tests (tests/web) drive Debian's
# chromium; `make web-screenshots` refreshes docs/web/*.png from them.
$(WEB_DEPS): web/package-lock.json web/package.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	touch $(WEB_DEPS)

web: $(WEB_DEPS)
	cd web && node build.mjs

web-typecheck: $(WEB_DEPS)
	cd web && node_modules/.bin/tsc --noEmit -p .

web-screenshots: $(STAMP) $(WEB_DEPS)
	WEB_SCREENSHOTS=docs/web $(BIN)/pytest tests/web -q -p no:cacheprovider

web-bench: $(STAMP) $(WEB_DEPS)
	$(BIN)/python benchmarks/web_hashing.py

# The long-running tests only (marker `slow`: crash and kill loops, multi-process federation),
# the soak loops included: `make test-slow PYTEST_ARGS="-k sigkill"`.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

# The TypeScript protocol package (clients/js, npm): the Python answers its cross-implementation
# test compares against must be current; then a clean install from the lock, type check, build
# (dist/: ESM + .d.ts) and every test (all of spec/vectors and ../shared/vectors).
test-js: $(STAMP)
	$(BIN)/python clients/js/scripts/python_answers.py --check
	cd clients/js && npm ci --no-audit --no-fund && npm run typecheck && npm test

# Regenerate spec/vectors/*.json from fixed seeds; vectors-check fails if that changes anything.
vectors: $(STAMP)
	$(BIN)/python spec/vectors/generate.py

vectors-check: $(STAMP)
	$(BIN)/python spec/vectors/generate.py --check

# Benchmarks (not tests): one table, each figure beside its baseline (benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick --out benchmarks/results/latest.json

load: $(STAMP)
	$(BIN)/python benchmarks/load.py --duration 5

# Upgrade the locks on purpose (the only way their versions change): resolve the newest
# releases that pyproject.toml allows, for CPython 3.11 on x86-64 Linux, with hashes.
UV_COMPILE := $(BIN)/uv pip compile --quiet --upgrade --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --no-emit-package consent-registry \
	--no-emit-package consent-registry-client --no-header --annotation-style line
lock: $(STAMP)
	$(UV_COMPILE) requirements/dev.in -o requirements/dev.txt
	$(UV_COMPILE) requirements/node.in -o requirements/node.txt
	$(UV_COMPILE) requirements/bootstrap.in -o requirements/bootstrap.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage

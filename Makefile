# Everyday commands. Each runs from .venv, which `make setup` (scripts/setup.sh) creates.
# The README's test command, `bash scripts/setup.sh test`, is `make test` plus the set-up.
PY := .venv/bin/python
XVFB := xvfb-run -a -s "-screen 0 1600x1000x24"
export HF_HUB_OFFLINE := 1

.PHONY: setup app lint format typecheck imports test-core test-ui test screenshots clean

setup:            ## system packages, .venv and the project (idempotent)
	bash scripts/setup.sh none

app: setup        ## open the app on the demo project
	bash scripts/setup.sh app

lint:             ## ruff lint + format check, import contracts
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

format:           ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

typecheck:        ## mypy: strict on workstation/core, default strictness elsewhere
	.venv/bin/mypy

imports:
	.venv/bin/lint-imports

test-core:        ## the core tests with Qt blocked (no display needed)
	WORKSTATION_BLOCK_QT=1 $(PY) -m pytest -q -p no:pytest-qt tests/core

test-ui:          ## the GUI and training tests under Xvfb
	QT_QPA_PLATFORM=xcb $(XVFB) $(PY) -m pytest -q tests/ui tests/train

test: test-core test-ui  ## everything CI runs (the checks run inside tests/core/test_boundaries.py)

screenshots:      ## docs/screenshots from the demo project (every view at 1280x800 and 1920x1080)
	xvfb-run -a -s "-screen 0 1920x1080x24" $(PY) scripts/screenshots.py docs/screenshots

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .import_linter_cache build dist

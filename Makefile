# Each target creates or reuses .venv first, so `make course` or `make test` alone works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.course-installed
# Parameters for `make course`; e.g. `make course EPOCHS=1 DATA_SOURCE=offline`.
EPOCHS ?= 10
DATA_SOURCE ?= auto
OUTPUT ?= build/course

.PHONY: setup course lab test lint format clean translate

setup: $(STAMP)

# Re-installs only when requirements.txt or pyproject.toml changed since the last install.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
	@touch $(STAMP)

course: setup
	$(PY) -m course_utils run --epochs $(EPOCHS) --data-source $(DATA_SOURCE) --output $(OUTPUT)

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Unit tests, then the notebooks: papermill prepares copies at CI parameters (epochs=1, offline data) and
# nbval executes them, comparing the cells tagged nbval-check-output with the committed outputs.
test: lint
	rm -rf build/ci
	$(PY) -m course_utils prepare-ci --output build/ci
	$(PY) -m pytest tests build/ci --nbval-lax --nbval-current-env

# The Chinese notebooks (notebooks/zh) from locale/zh_CN; UPDATE=1 first merges changed English cells (fuzzy).
translate: setup
	$(PY) -m course_utils translate $(if $(UPDATE),--update)

clean:
	rm -rf build artifacts .pytest_cache

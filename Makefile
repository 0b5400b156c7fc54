# Each target creates or reuses .venv first, so `make course` or `make test` alone works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.course-installed
# Parameters for `make course`; e.g. `make course EPOCHS=1 DATA_SOURCE=offline`.
EPOCHS ?= 10
DATA_SOURCE ?= auto
OUTPUT ?= build/course

.PHONY: setup course lab test lint format clean

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
# nbval executes them, comparing the cells tagged nbval-check-output with the committed outputs. The notebooks
# write their headline figures to build/ci/headlines.jsonl, and the floors plugin's last test checks them
# against course_utils/floors.csv (a notebook that stops learning fails here).
test: lint
	rm -rf build/ci
	$(PY) -m course_utils prepare-ci --output build/ci
	COURSE_HEADLINES_FILE=$(CURDIR)/build/ci/headlines.jsonl \
		$(PY) -m pytest tests build/ci --nbval-lax --nbval-current-env -p course_utils.floors_plugin

clean:
	rm -rf build artifacts .pytest_cache

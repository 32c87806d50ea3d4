# sqla-bench: the front door. `make bench` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DRIVER ?= aiosqlite
PROFILE ?= quick
URL ?=
BASE ?=
NEW ?=
REPORT_DIR ?= reports/latest
STAMP := $(shell date -u +%Y%m%dT%H%M%SZ)
URL_ARG := $(if $(URL),--url '$(URL)',)
RTT ?=
RTT_ARG := $(if $(RTT),--rtt $(RTT),)
SCENARIOS ?=
SCENARIO_ARGS := $(foreach s,$(SCENARIOS),--scenario $(s))
RUNS ?= 5
NOISE ?= $(wildcard results/noise.json)
NOISE_ARG := $(if $(NOISE),--noise $(NOISE),)

.PHONY: install bench bench-all bench-all-separate report history compare test bench-ci calibrate calibrate-counted lint docs clean

# The venv is (re)built when pyproject.toml changes.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# One driver, then the report. A failed case makes the run exit 1, but the report
# is written anyway so the failure can be read there.
bench: install
	@out=results/$(STAMP)_$(DRIVER).json; \
	$(BIN)/sqla-bench run --driver $(DRIVER) $(URL_ARG) --profile $(PROFILE) $(SCENARIO_ARGS) $(RTT_ARG) --output $$out; \
	status=$$?; \
	if [ -s $$out ]; then $(BIN)/sqla-bench report $$out --output $(REPORT_DIR) || status=1; fi; \
	exit $$status

# Every driver that imports and whose server answers, measured in ONE run (a block is one
# round of every variant on every driver, so the report's driver view is paired ratios),
# then its report. A driver whose server stops answering is left out in one line.
bench-all: install
	@drivers=$$($(BIN)/sqla-bench doctor --available | paste -sd, -); \
	if [ -z "$$drivers" ]; then echo "no driver is usable: see sqla-bench doctor" >&2; exit 2; fi; \
	out=results/$(STAMP)_all.json; \
	$(BIN)/sqla-bench run --driver $$drivers --profile $(PROFILE) $(SCENARIO_ARGS) --output $$out; \
	status=$$?; \
	if [ -s $$out ]; then $(BIN)/sqla-bench report $$out --output $(REPORT_DIR) || status=1; fi; \
	exit $$status

# The old way, kept to compare: one run per driver, one after another (absolute times of
# separate runs; the report says they are not paired).
bench-all-separate: install
	@drivers=$$($(BIN)/sqla-bench doctor --available); status=0; files=(); \
	if [ -z "$$drivers" ]; then echo "no driver is usable: see sqla-bench doctor" >&2; exit 2; fi; \
	for d in $$drivers; do \
		out=results/$(STAMP)_$$d.json; \
		$(BIN)/sqla-bench run --driver $$d --profile $(PROFILE) $(SCENARIO_ARGS) --output $$out || status=1; \
		[ -s $$out ] && files+=($$out); \
	done; \
	$(BIN)/sqla-bench report "$${files[@]}" --output $(REPORT_DIR) || status=1; \
	exit $$status

# The report of the newest results file of every driver.
report: install
	$(BIN)/sqla-bench report --latest results --output $(REPORT_DIR)

# Every case across every results file in results/, in time order, with step changes.
history: install
	$(BIN)/sqla-bench history results --output reports/history

compare: install
	@if [ -z "$(BASE)" ] || [ -z "$(NEW)" ]; then echo "usage: make compare BASE=a.json NEW=b.json [NOISE=noise.json]" >&2; exit 2; fi
	$(BIN)/sqla-bench compare $(BASE) $(NEW) --fail-on-regression --html reports/compare $(NOISE_ARG)

# pytest's exit 5 (no tests collected) is a failure here, not a pass.
test: install
	@$(BIN)/pytest tests --benchmark-disable; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

# The CI gate, on evidence no machine can move (docs/ci-gate.md). MEASURE=instructions
# (default): the suite at the counted profile's sizes runs in callgrind children (one per
# core, one memory layout) and records instructions, statements and Python calls per op and
# query-plan fingerprints; the run is saved under .benchmarks/counted/ and gated against the
# one saved before it: any change of statements or plan, or of instructions beyond each
# case's tolerance, fails. The tolerance (5%; 20% for polling drivers) is set per case by a
# calibration over eight memory layouts of the same Python build (`make calibrate-counted`,
# results/noise-counted.json: this machine's own), else by the one shipped with the suite
# (tests/benchmarks/noise-counted.json); a calibration of another build only widens it.
# Times are shown, never failing.
# MEASURE=time: the timed suite at quick sizes, saved by pytest-benchmark as before.
MEASURE ?= instructions
COUNTED_STORE ?= .benchmarks/counted
COUNTED_NOISE ?= $(firstword $(wildcard results/noise-counted.json tests/benchmarks/noise-counted.json))
COUNTED_NOISE_ARG := $(if $(COUNTED_NOISE),--noise $(COUNTED_NOISE),)
LAYOUTS ?= 1
CALIBRATE_LAYOUTS ?= 8
COUNTED_ARGS := --sqla-measure instructions --sqla-profile counted
# BASELINE=FILE: gate against that counted run (CI: the target branch counted in the same
# job) instead of the run saved before this one.
BASELINE ?=
GATE_DIR ?= reports/gate
COUNTED_BASE_ARG := $(if $(BASELINE),--baseline $(BASELINE),--storage $(COUNTED_STORE))
# make puts the variables of its command line into the recipes' environment, and every
# byte of a counting child's environment moves its memory layout: the counted pytest gets
# none of this Makefile's own, so `make bench-ci BASELINE=FILE` and `make -C ../base
# bench-ci` count in the same layout when their checkouts' paths are of equal length.
MAKE_SETTINGS := PYTHON VENV DRIVER PROFILE URL BASE NEW REPORT_DIR RTT SCENARIOS RUNS NOISE \
	MEASURE COUNTED_STORE COUNTED_NOISE LAYOUTS CALIBRATE_LAYOUTS BASELINE GATE_DIR
COUNTED_PYTEST := env $(foreach v,$(MAKE_SETTINGS),-u $(v)) $(BIN)/pytest
bench-ci: install
	@mkdir -p results; rm -f results/pytest-benchmark.json; \
	if [ "$(MEASURE)" = instructions ]; then \
		$(COUNTED_PYTEST) tests/benchmarks $(COUNTED_ARGS) --sqla-layouts $(LAYOUTS) \
			--sqla-explain --benchmark-json results/pytest-benchmark.json; \
	else \
		$(BIN)/pytest tests/benchmarks --benchmark-autosave --benchmark-save-data \
			--benchmark-group-by=group --benchmark-columns=median,iqr,ops,rounds \
			--benchmark-json results/pytest-benchmark.json; \
	fi; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make bench-ci: no benchmark collected" >&2; status=1; fi; \
	if [ -s results/pytest-benchmark.json ]; then \
		if [ "$(MEASURE)" = instructions ]; then \
			mkdir -p $(COUNTED_STORE)/saved; \
			cp results/pytest-benchmark.json $(COUNTED_STORE)/saved/$(STAMP)_counted.json; \
			$(BIN)/sqla-bench gate results/pytest-benchmark.json $(COUNTED_BASE_ARG) \
				$(COUNTED_NOISE_ARG) --html $(GATE_DIR) || status=1; \
		else \
			$(BIN)/sqla-bench gate results/pytest-benchmark.json $(NOISE_ARG) || status=1; \
		fi; \
		$(BIN)/sqla-bench report results/pytest-benchmark.json --output $(REPORT_DIR) || status=1; fi; \
	exit $$status

# Each case's instructions tolerance: one counted run of the suite on unchanged code under
# CALIBRATE_LAYOUTS memory layouts (8: what the gate needs before it narrows a tolerance),
# each case's range over them into results/noise-counted.json. About 8 times the counted
# suite's time (an hour on 2 cores): once per Python build, not per change.
calibrate-counted: install
	@mkdir -p results; \
	$(COUNTED_PYTEST) tests/benchmarks $(COUNTED_ARGS) --sqla-layouts $(CALIBRATE_LAYOUTS) \
		--sqla-explain --benchmark-json results/counted-layouts.json || exit 1; \
	$(BIN)/sqla-bench calibrate --from results/counted-layouts.json \
		--output results/noise-counted.json

# Each case's A/A noise floor on this machine: RUNS runs of the chosen scenarios.
calibrate: install
	$(BIN)/sqla-bench calibrate --runs $(RUNS) --output results/noise.json \
		--driver $(DRIVER) $(URL_ARG) --profile $(PROFILE) $(SCENARIO_ARGS)

lint: install
	$(BIN)/ruff check bench scenarios tests
	$(BIN)/mypy

# The documentation site (mkdocs.yml, docs/) into site/; a broken link or anchor fails it.
docs: install
	$(BIN)/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks site

# Shortcuts; the README gives the plain commands these run.
PY ?= .venv/bin/python

.PHONY: install test bench bench-pool seed-eval

install:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'

test:
	bash .ci/run

# Rebuilds the bench index from ../shared/bench in a temporary folder and prints the figures.
bench:
	$(PY) bench/run_bench.py

# The same on the 23,757-article pool (unpacked to a temporary folder; ~20 min on 2 cores).
bench-pool:
	$(PY) bench/run_bench.py --pool

seed-eval:
	$(PY) -m bot.cli --data-dir $${TMPDIR:-/tmp}/newsbot-seed index -q sample_articles
	$(PY) -m bot.cli --data-dir $${TMPDIR:-/tmp}/newsbot-seed eval ../shared/eval/seed_dev.jsonl

# The two commands of the README: `make demo` and `make test`.
# Each creates the virtualenvs it needs and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: demo test bench clean

demo: .venv/bin/python
	.venv/bin/python -m prometheus_client demo

test:
	PYTHON=$(PYTHON) bash scripts/test.sh

bench: .venv/bin/python .venv-classic/bin/python
	.venv/bin/python benchmarks/run.py --classic-python .venv-classic/bin/python

.venv/bin/python:
	$(PYTHON) -m venv .venv
	.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv-classic/bin/python:
	$(PYTHON) -m venv .venv-classic
	.venv-classic/bin/python -m pip install -q --disable-pip-version-check 'prometheus-client==0.26.0'

clean:
	rm -rf .venv .venv-classic .venv-py* build *.egg-info .pytest_cache .hypothesis
	find . -name '__pycache__' -prune -exec rm -rf {} +
	find prometheus_client -name '*.so' -delete

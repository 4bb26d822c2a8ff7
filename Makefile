# The two commands in the README: `make run` and `make test`. Each creates .venv when missing.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test test-fast bench eval build chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU torch first, from the wheel on disk; otherwise pip pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py --host $(HOST) --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }

test: $(STAMP) chromium
	# build index/ and export the model to index/onnx/ once; every test's index and server copies the export
	$(VENV)/bin/massage-assistant build
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not model and not browser"

eval: $(STAMP)
	$(VENV)/bin/massage-assistant eval --all --loco

bench: $(STAMP)
	$(PY) bench/run.py $(if $(QUICK),--quick,)

build: $(STAMP)
	$(VENV)/bin/massage-assistant build

clean:
	rm -rf index/manifest.json index/build-* .pytest_cache

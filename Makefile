# The two commands of the README:
#   make demo   run the monitor's main job on the embedded default scenario
#   make test   run the whole test suite
# Each creates .venv and installs what it needs: the demo the package alone; the tests the
# test, fleet and spark extras and (when run as root) the system packages the tests drive.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
OUT    ?= out/demo

.PHONY: demo test bench fuzz hostile score lint clean setup pi-wheel

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py deploy/setup-dev.sh
	bash deploy/setup-dev.sh test "$(PYTHON)" "$(VENV)"
	touch $(STAMP) $(DEMO_STAMP)

# The test set-up is a superset of the demo's, so either stamp lets the demo run.
$(DEMO_STAMP): pyproject.toml deploy/setup-dev.sh
	bash deploy/setup-dev.sh demo "$(PYTHON)" "$(VENV)"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/gatewatch demo -o $(OUT)

# The whole suite on the native core (its build is mandatory here), then the equivalence,
# hostile-input and seed tests a second time on the numpy reference (GATEWATCH_NATIVE=0).
REFERENCE_TESTS ?= tests/native tests/hostile/test_crafted_inputs.py tests/hostile/test_fuzz.py tests/test_seeds.py
test: $(STAMP)
	GATEWATCH_NATIVE_REQUIRED=1 $(PY) -m pytest $(PYTEST_ARGS)
	GATEWATCH_NATIVE=0 $(PY) -m pytest -q $(REFERENCE_TESTS)
	mkdir -p out/ci
	$(VENV)/bin/gatewatch test seeds/ --junit out/ci/junit.xml --sarif out/ci/gatewatch.sarif
	GATEWATCH_NATIVE=0 $(VENV)/bin/gatewatch test seeds/

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(VENV)/bin/gatewatch bench can

# The development lab (lab/, in the checkout, never in the wheel); ARGS passes options on,
# e.g. make score ARGS="--seeds 2", make hostile ARGS="--kills 5 --json".
# Coverage-guided fuzzing of every reader of outside input (long; not part of make test).
FUZZ_RUNS ?= 20000
# The native core is fuzzed as a second build with the address and undefined-behaviour
# sanitizers (out/fuzz/native, loaded through GATEWATCH_NATIVE_PATH; gcc's runtimes preloaded
# into Python): a memory error in a kernel stops the target and keeps its input.
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
fuzz: $(STAMP)
	$(PY) -m pip install -q -e '.[fuzz]' 'setuptools>=77' 'Cython>=3.0'
	GATEWATCH_NATIVE_REQUIRED=1 GATEWATCH_NATIVE_CFLAGS="$(SANITIZE)" $(PY) setup.py -q build_ext \
		--build-lib out/fuzz/native --build-temp out/fuzz/native-tmp --force
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	GATEWATCH_NATIVE_PATH="$$(ls $(CURDIR)/out/fuzz/native/monitor/native/_core*.so)" \
		$(PY) -m lab.fuzz --all --runs $(FUZZ_RUNS)

# Robustness figures: crafted inputs as processes, fuzzed inputs, SIGKILLs of a replay, spoofed flows.
hostile: $(STAMP)
	$(PY) -m lab.hostile $(ARGS)

# Detection quality against its targets: corpus vectors and captures, ROAD, generated drives.
CORPUS ?= ../shared/corpus
score: $(STAMP)
	$(PY) -m lab.score --corpus $(CORPUS) $(ARGS)

# An aarch64 wheel for a Raspberry Pi with a 64-bit OS, cross-built and checked under qemu
# (deploy/pi-wheel.sh; root once, for Debian's arm64 architecture). Out: dist/pi/.
pi-wheel: $(STAMP)
	bash deploy/pi-wheel.sh $(PY) dist/pi

lint: $(STAMP)
	$(PY) -m pip install -q ruff mypy
	$(PY) -m ruff check monitor lab tests
	$(PY) -m mypy monitor

clean:
	rm -rf $(VENV) out .pytest_cache

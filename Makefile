# edgerep — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MVNW      := ./mvnw -B -ntp
# the loader runs on Debian's python3 with apt packages only, never a venv
PY        := /usr/bin/python3
PYPATH    := $(CURDIR)/bpf/loader
PYTEST    := PYTHONPATH=$(PYPATH) $(PY) -m pytest -c bpf/pytest.ini
PROTO_SRC := $(wildcard proto/edgerep/v1/*.proto)
PROTO_PY  := bpf/loader/edgerep/v1/.generated

.PHONY: help setup build proto-py crds images test test-unit test-bpf test-it e2e e2e-scenarios e2e-cluster demo bench fmt fmt-check clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install packages, kernel headers fallback, mounts, build the API server binaries (root, idempotent)
	@scripts/setup

build: proto-py ## build all Java modules and the Python stubs (no tests)
	$(MVNW) install -DskipTests

proto-py: $(PROTO_PY) ## generate the loader's Python stubs from proto/

$(PROTO_PY): $(PROTO_SRC)
	@command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null \
	  || { echo "protoc or grpc_python_plugin missing: run 'make setup' (apt: protobuf-compiler protobuf-compiler-grpc libprotobuf-dev)"; exit 1; }
	@mkdir -p bpf/loader
	@test -f /usr/include/google/protobuf/duration.proto \
	  || { echo "google/protobuf well-known types missing: run 'make setup' (apt: libprotobuf-dev)"; exit 1; }
	protoc -I proto -I /usr/include --python_out=bpf/loader --grpc_out=bpf/loader \
	  --plugin=protoc-gen-grpc=$$(command -v grpc_python_plugin) $(PROTO_SRC)
	@touch $@

crds: ## regenerate deploy/crds (and the chart's copy) from the api classes
	$(MVNW) -q process-classes -pl proto,api
	cp api/target/classes/META-INF/fabric8/edgereplicas.edgerep.io-v1.yml deploy/crds/
	cp deploy/crds/edgereplicas.edgerep.io-v1.yml charts/edgerep/crds/

images: build ## build the operator, agent, loader and pause images as OCI archives in target/images/ (root; no engine, no registry)
	@deploy/images/build

test: setup proto-py ## everything CI runs: formatting, unit, it, bpf, e2e, the real-cluster suite — as root
	black --check -q $(PY_SRC)
	clang-format --dry-run --Werror $(C_SRC)
	$(MVNW) -Pcheck-format install
	$(PYTEST) bpf/tests deploy/images/tests sensor/tests bench/tests -m "not kernel" -q
	$(MAKE) --no-print-directory test-bpf
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory e2e-cluster
	@echo "make test: all suites passed"

test-unit: proto-py ## fast: JUnit *Test and pytest unit_* (no root, no API server)
	$(MVNW) -Pcheck-format verify -DskipITs
	$(PYTEST) bpf/tests deploy/images/tests sensor/tests bench/tests -m "not kernel" -q

test-bpf: proto-py ## bcc programs through BPF_PROG_TEST_RUN and netns tests (root)
	@[[ $$(id -u) -eq 0 ]] || { echo "make test-bpf needs root (bpf(), netlink, tracefs)"; exit 1; }
	@scripts/setup kernel >/dev/null
	$(PYTEST) bpf/tests -m kernel -v

test-it: ## *IT against the real kube-apiserver + etcd (built by 'make setup')
	@scripts/setup kube
	$(MVNW) verify -DskipUnitTests=true

JARS := operator/target/quarkus-app/quarkus-run.jar agent/target/quarkus-app/quarkus-run.jar

e2e: ## end to end in a netns topology: the harness and every scenario, every component real (root)
	@[[ $$(id -u) -eq 0 ]] || { echo "make e2e needs root (network namespaces, cgroups, bpf)"; exit 1; }
	@scripts/setup kernel >/dev/null
	@ls $(JARS) >/dev/null 2>&1 || $(MAKE) --no-print-directory build
	PYTHONPATH=$(CURDIR)/e2e:$(PYPATH) $(PY) -m pytest -c e2e/pytest.ini e2e/tests -v -o log_cli=true

e2e-scenarios: build ## only the scenarios (stream, state, lifecycle, faults, bad input), after a build (root)
	@[[ $$(id -u) -eq 0 ]] || { echo "make e2e-scenarios needs root"; exit 1; }
	@scripts/setup kernel >/dev/null
	PYTHONPATH=$(CURDIR)/e2e:$(PYPATH) $(PY) -m pytest -c e2e/pytest.ini e2e/tests -v -o log_cli=true -k scenario

e2e-cluster: images ## a real node (kubelet, containerd, kube-proxy, CoreDNS) and edgerep installed with helm from the images (root)
	@[[ $$(id -u) -eq 0 ]] || { echo "make e2e-cluster needs root (containerd, kubelet, iptables)"; exit 1; }
	@scripts/setup kernel >/dev/null
	@scripts/setup kube >/dev/null
	@scripts/setup tools >/dev/null
	@e2e/cluster/build-node-binaries
	PYTHONPATH=$(CURDIR)/e2e:$(PYPATH) $(PY) -m pytest -c e2e/cluster/pytest.ini e2e/cluster/tests -v -o log_cli=true

demo: setup build ## the main job: a 3-node edge on this machine, real video and a real app (root)
	PYTHONPATH=$(CURDIR)/e2e:$(PYPATH) $(PY) -m edgerep_e2e.demo

bench: build ## run every bench/*/run (root; QUICK=1: minutes), then bench/report: one summary table, JSON and PNG in bench/results/, docs/BENCHMARKS.md
	@[[ $$(id -u) -eq 0 ]] || { echo "make bench needs root"; exit 1; }
	@scripts/setup kernel >/dev/null
	@scripts/setup bench
	$(PYTEST) bench/tests -q
	@mkdir -p bench/results
	@failed=(); for b in bench/*/run; do \
	  echo "== $$b"; \
	  QUICK="$(QUICK)" PYTHONPATH=$(PYPATH) flock /run/edgerep-bench.lock $$b || { echo "== $$b FAILED (exit $$?)"; failed+=("$$b"); }; \
	done; \
	echo "== bench/report"; $(PY) bench/report || failed+=(bench/report); \
	if (( $${#failed[@]} )); then echo "make bench: failed: $${failed[*]}"; exit 1; fi

# the bench drivers are Python scripts without an extension: named, so black sees them
PY_SRC := bpf/loader/edgerep_loader bpf/tests e2e/edgerep_e2e e2e/tests e2e/apps e2e/cluster/tests bench deploy/images \
  tools/kubectl-edgerep sensor/edgerep_sensor sensor/tests sensor/edgerep-sensor \
  bench/report $(shell grep -l '^\#!.*python' bench/*/run)
C_SRC   = $(wildcard bpf/progs/*.c bpf/progs/*.h bench/*/*.c deploy/images/*.c)

fmt: ## format Java (Eclipse formatter + import order), Python (black) and BPF C (clang-format)
	$(MVNW) -q process-sources
	black -q $(PY_SRC)
	clang-format -i $(C_SRC)

fmt-check: ## fail on unformatted Java, Python or BPF C
	$(MVNW) -q -Pcheck-format process-sources
	black --check -q $(PY_SRC)
	clang-format --dry-run --Werror $(C_SRC)

clean: ## remove build outputs
	$(MVNW) -q clean
	rm -rf bpf/loader/edgerep

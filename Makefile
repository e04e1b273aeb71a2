# SketchMatch — see README.md. `make run` and `make test` are the two entry points.
SHELL := /bin/bash
export CGO_ENABLED := 1

GO        ?= go
BIN       := bin/sketchmatch
MODELS    ?= faceplugin-arcface

# ONNX Runtime CPU library from the npm package onnxruntime-node.
# 1.24.1 is the exact match of onnxruntime_go v1.27.0's C API headers.
ORT_VERSION    := 1.24.1
ORT_TGZ_SHA256 := 57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772
ORT_LIB_SHA256 := 53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
ORT_LIB        := lib/libonnxruntime.so.1

# axe-core, for the browser tests' accessibility checks only (never served).
AXE_VERSION    := 4.14.1
AXE_TGZ_SHA256 := e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE_JS_SHA256  := 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
AXE_JS         := .cache/axe/axe.min.js

.PHONY: all build run serve test test-short e2e lint clean onnxruntime models bench perf deps axe

all: build

deps:
	$(GO) mod download

build: deps
	$(GO) build -trimpath -ldflags "-X github.com/sketchmatch/sketchmatch/internal/app.Version=$(VERSION)" -o $(BIN) ./cmd/sketchmatch

onnxruntime: $(ORT_LIB)

$(ORT_LIB): scripts/npm-fetch.sh
	scripts/npm-fetch.sh onnxruntime-node@$(ORT_VERSION) $(ORT_TGZ_SHA256) \
	  package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $(ORT_LIB) $(ORT_LIB_SHA256)

axe: $(AXE_JS)

$(AXE_JS): scripts/npm-fetch.sh
	scripts/npm-fetch.sh axe-core@$(AXE_VERSION) $(AXE_TGZ_SHA256) package/axe.min.js $(AXE_JS) $(AXE_JS_SHA256)

# Installs the model presets named in MODELS (default: the offline face pipeline).
models:
	@for m in $(MODELS); do scripts/install-model.sh "$$m" || exit 1; done

# Everything a fresh machine needs, then the server.
run: build onnxruntime models
	scripts/dev-setup.sh
	$(BIN) serve

serve: build
	$(BIN) serve

# The whole suite, then a short fuzz run of the upload decoder.
test: deps onnxruntime models axe lint
	$(GO) test -count=1 -shuffle=on -timeout 20m ./...
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 15s ./internal/imagefile

# The real-browser journeys (headless Chromium); -v prints where each run
# left its step screenshots.
e2e: deps onnxruntime models axe
	$(GO) test -v -count=1 -timeout 10m -run 'Browser' ./internal/e2e/...

bench: onnxruntime models
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

# The issue-15 performance numbers in one command (benchmarks + load tests,
# reports under docs/perf/results/); BASE=main also runs the loads against
# that revision, alternating, for before/after from one sitting.
perf: build onnxruntime models
	docs/perf/run.sh $(BASE)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin .cache

# --- Container image (see DEPLOYMENT.md, "Containers") -----------------------
# Podman in sandboxes/CI without systemd needs deploy/podman/containers.conf.
export CONTAINERS_CONF ?= $(CURDIR)/deploy/podman/containers.conf
IMAGE   ?= sketchmatch
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: image image-test alerts-test

# Root file system from Debian packages (apt-get download + dpkg -x), the
# binary, the pinned ONNX Runtime library and the default model (checksums
# verified) -> .cache/image/context/rootfs.tar -> FROM scratch image tagged
# $(IMAGE):$(VERSION) and $(IMAGE):latest.
image: deps onnxruntime models
	IMAGE=$(IMAGE) VERSION=$(VERSION) ORT_LIB=$(ORT_LIB) ORT_LIB_SHA256=$(ORT_LIB_SHA256) \
	  scripts/build-image.sh

# Builds a throw-away image and runs it (volume, health, sign-in, CLI import
# in a second container, search, restart, read-only root, non-root user);
# skips with a message where podman is not installed. Part of make test.
image-test: deps onnxruntime models
	$(GO) test -count=1 -timeout 10m -run 'TestImage' -v ./internal/imagetest

# The Prometheus alert rules: promtool check + unit tests, and a real
# Prometheus scraping a real server. Part of make test.
alerts-test: deps
	$(GO) test -count=1 -timeout 5m -run 'TestAlert' -v ./internal/deploytest

# ds3d-go — build, test and run. `make run` and `make test` work on a fresh
# Debian/Ubuntu machine: both call `setup`, which installs what is missing.
SHELL := /bin/bash
GO ?= go
BIN := bin
# Debian packages, in two sets. Running needs only RUN_APT_PACKAGES: gcc
# and pkg-config for cgo, libjpeg-turbo (the turbojpeg build tag), ffmpeg for video in and
# out, and the X11/GL headers GLFW builds against for the OpenGL viewer.
# Testing adds TEST_APT_PACKAGES, the independent references and tools the
# tests check against: g++ and libboost-dev to build the KITTI devkit
# evaluator (../shared/peers/kitti_eval); python3-numpy, SciPy, OpenCV and
# Open3D; pcl-tools for the PCL VoxelGrid and PCD cross-checks; the ONNX
# node test data; Node.js (with npm) for the reference scripts on the MCAP
# authors' and Foxglove's npm libraries, which the tests install themselves
# (npm ci); protoc and python3-jsonschema, the independent decoder and
# validator of the payload schemas; the lz4 command, which checks and times
# our lz4 bag chunks; Xvfb and Mesa (llvmpipe), under which the OpenGL
# tests render; python3-torch, torchvision and onnx export the model zoo
# (tools/zoo) the inference tests check against onnxruntime. `make run`
# installs the first set, `make test` both.
# Debian's nodejs comes without npm (a package of its own); NodeSource's
# includes it and conflicts with Debian's npm, so npm is added only when
# the command is missing.
RUN_APT_PACKAGES := gcc libc6-dev pkg-config libturbojpeg0-dev ffmpeg \
	libgl-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
TEST_APT_PACKAGES := g++ libboost-dev python3-numpy python3-scipy python3-opencv python3-open3d pcl-tools \
	libonnx-testdata nodejs protobuf-compiler python3-jsonschema lz4 xvfb libgl1-mesa-dri \
	python3-torch python3-torchvision python3-onnx
APT_PACKAGES := $(RUN_APT_PACKAGES) $(TEST_APT_PACKAGES)

# Go 1.26's simd experiment (simd/archsimd) gives the inference engine its
# AVX2/AVX-512 kernels in pure Go; without it the portable kernels run
# (10x slower). Both are tested: the suite with it, the engine without.
export GOEXPERIMENT := simd

# turbojpeg: JPEG through libjpeg-turbo (cgo, libturbojpeg0-dev), 5x faster
# than image/jpeg. Without the tag the stdlib decoder runs; `make test`
# tests both.
TAGS ?= turbojpeg
GOTAGS := -tags=$(TAGS)

.PHONY: all setup build test test-short e2e lint bench bench-peers bench-zoo perf eval-video run fmt vet fuzz soak clean demo-cluster

all: build

# setup installs missing Debian packages (idempotent: it installs nothing
# when everything is there) and checks that Go is new enough.
setup:
	@SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	if ! command -v $(GO) >/dev/null; then \
		echo "setup: no Go found; installing Debian's golang-go (Go >= 1.21 fetches the toolchain go.mod names)"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq golang-go; \
	fi; \
	v=$$($(GO) env GOVERSION 2>/dev/null | sed 's/^go//'); \
	case "$$v" in 1.1[0-9]*|1.20*|"") echo "setup: Go $$v is too old to fetch Go 1.26; install it from https://go.dev/dl/"; exit 1;; esac
	@missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	case " $(APT_PACKAGES) " in *" nodejs "*) command -v npm >/dev/null || missing="$$missing npm";; esac; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: system packages present"; fi
	@$(GO) mod download

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOTAGS) -o $(BIN)/ds3d ./apps/ds3d

vet:
	$(GO) vet $(GOTAGS) ./...

# Packages with tests that skip or shrink under -race (allocation counts,
# timing, full-model goldens): make test runs them again without -race, on
# the shipped build (GOEXPERIMENT=simd, turbojpeg), so the AVX-512 kernels
# meet the model goldens in CI. Found by the helper they call.
NORACE_PKGS = $(shell grep -rlE --include='*_test.go' 'testenv\.(SkipUnderRace|RaceEnabled)' . | xargs -r -n1 dirname | sort -u)

# test: the first tier (docs/TESTING.md), under 12 minutes on 2 cores:
# vet and lint, every test with the race detector (fuzz targets run their
# seeds), the race-gated packages again without -race, and the inference,
# decode and source packages on the portable build (no simd experiment; -short:
# the full-model goldens run in the shipped-build passes, the ops and kernels here).
test: setup vet lint
	$(GO) test $(GOTAGS) -race -timeout 20m ./...
	$(GO) test $(GOTAGS) -timeout 15m $(NORACE_PKGS)
	GOEXPERIMENT= $(GO) test -short -timeout 10m ./core2d/infer/... ./core2d/decode/... ./core2d/source/...

# e2e: the second tier (docs/TESTING.md), bounded at 40 minutes: tests
# named TestE2E… (real servers, a browser, process kills, model zoos, long
# runs; each skips unless DS3D_E2E is set), the soak and the video-detect
# evaluation.
E2E_PKGS = $(shell grep -rlE --include='*_test.go' '^func TestE2E' . | xargs -r -n1 dirname | sort -u)
# Debian packages only the second tier needs: Chromium for the browser
# tests of web pages (the Foxglove WebSocket viewer page); the MQTT and
# Redis servers (and the MQTT command-line client) the broker tests start.
E2E_APT_PACKAGES := chromium mosquitto mosquitto-clients redis-server rabbitmq-server
e2e: setup build
	@$(MAKE) --no-print-directory setup APT_PACKAGES="$(E2E_APT_PACKAGES)" >/dev/null
	$(if $(strip $(E2E_PKGS)),DS3D_E2E=1 $(GO) test $(GOTAGS) -count=1 -timeout 30m -run '^TestE2E' $(E2E_PKGS),@echo "e2e: no TestE2E tests")
	$(MAKE) --no-print-directory soak SOAK=60s
	$(MAKE) --no-print-directory eval-video

# lint: gofmt, staticcheck, generated files fresh, no dangling notes
# references (.ci/lint.sh).
lint:
	bash .ci/lint.sh

test-short: vet
	$(GO) test $(GOTAGS) -short ./...

bench:
	$(GO) test $(GOTAGS) -run='^$$' -bench=. -benchmem ./...

# fuzz runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test $(GOTAGS) -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# soak: long-running checks kept out of `make test` (SOAK, default 60s):
# the mixer at sensor rate with a 10 Hz lidar and six 12 Hz cameras, and a
# VLP-16 capture replayed over UDP loopback at 1x into velodyne_udp (zero
# loss). -p 1 keeps the two from competing for the 2 cores.
SOAK ?= 60s
soak:
	DS3D_SOAK=$(SOAK) $(GO) test -p 1 -run 'TestSoak$$' -v -timeout 30m ./fusion/mixer/ ./sensors/lidar/velodyne/

# eval-video: the video-detect app (YOLOX-Nano + tracker) on the first 200
# frames of vtest.avi, scored against MOT15 PETS09-S2L1 (needs ../shared).
eval-video:
	DS3D_EVAL_VIDEO=1 $(GO) test $(GOTAGS) -count=1 -timeout 20m -run TestEval200 -v ./apps/video-detect/

# bench-peers: the point-cloud filters and their peers (PCL, Open3D, numpy)
# on the same KITTI frame in one run, single thread (docs/PERF.md). Needs
# the peers (../shared/peers/install_peers.sh: PCL headers, Open3D).
SHARED ?= ../shared
bench-peers:
	$(GO) test $(GOTAGS) -run='^$$' -bench='Crop|Voxel|Pillarize|Statistical' -count=3 ./filters/pointcloud/ ./filters/outlier/
	g++ -O2 -std=c++17 $(SHARED)/peers/pcl_bench.cpp -I/usr/include/pcl-1.13 -I/usr/include/eigen3 \
	  -lpcl_common -lpcl_filters -lpcl_io -lpcl_kdtree -lpcl_search -o /tmp/pcl_bench
	/tmp/pcl_bench $(SHARED)/data/kitti-object/training/velodyne/000000.bin /nonexistent.pcd 20
	$(GO) test $(GOTAGS) -count=1 -v -run 'TestStatisticalSpeedVsOpen3D|TestDepthSpeedVsNumpy|TestNMSSpeedVsNumpy' \
	  ./filters/outlier ./filters/align ./filters/postprocess

# bench-zoo: every model of the zoo (tools/zoo/export.py, exported into the
# user cache) in core2d/infer and in onnxruntime-node, 1 and 2 threads, in
# one run; writes the "Model zoo" table of docs/PERF.md (a few minutes).
# BENCH_ZOO_MODELS=name,name times only those and prints their table instead.
bench-zoo:
	DS3D_BENCH_ZOO=docs/PERF.md DS3D_BENCH_ZOO_MODELS=$(BENCH_ZOO_MODELS) $(GO) test $(GOTAGS) -count=1 -timeout 30m -v -run '^TestZooBench$$' ./core2d/infer/

# perf: every peer comparison docs/PERF.md quotes, at 1 and 2 threads, in one
# run (about 10 minutes); writes docs/perf.json and the headline table at the
# top of docs/PERF.md. Peers missing on the machine are reported as missing
# (../shared/peers/install_peers.sh installs them). Not part of `make test`.
perf:
	$(GO) run ./internal/perfrun -shared $(SHARED)

# bench-scale: cost curves (every point-cloud filter and the detector from
# 10k to 2M points, the 3D tracker from 10 to 3,000 boxes, one core; plots
# in docs/img/cost-*.png) and paced streams (1 → 16 lidar through the
# detection chain on synthetic HDL-64E scans, 1 → 8 video through
# video-detect's) with throughput,
# latency, drops and memory; JSON in out/scale/ (docs/PERF.md, "Cost curves
# and streams"). LONG=1 instead runs 16 lidar streams for 10 minutes.
.PHONY: bench-scale
bench-scale:
	$(GO) run $(GOTAGS) ./apps/scale-bench/cmd/scalebench synth -sensor hdl64e -frames 20 -dir out/scale/synth-hdl64e
	$(if $(LONG),,$(GO) run $(GOTAGS) ./apps/scale-bench/cmd/scalebench synth -sensor dense -frames 2 -dir out/scale/synth-dense)
	$(if $(LONG),,$(GO) run $(GOTAGS) ./apps/scale-bench/cmd/scalebench curves -pool 'out/scale/synth-dense/*.bin')
	$(GO) run $(GOTAGS) ./apps/scale-bench/cmd/scalebench streams -lidar-files '../../out/scale/synth-hdl64e/*.bin' \
	  $(if $(LONG),-lidar 16 -video "" -duration 10m -out out/scale/streams-long.json)

# run: the default pipeline on the bundled sample data.
# demo-cluster: apps/v2x-cloud on one machine — 3 nats-server (JetStream
# cluster), mosquitto, 4 roadside pipelines, 2 workers, 1 fusion process —
# printing throughput, latency and loss (FRAMES per roadside unit).
demo-cluster: build
	DS3D=$(abspath $(BIN))/ds3d apps/v2x-cloud/demo-cluster.sh $(or $(FRAMES),100)

# run installs only what running needs (RUN_APT_PACKAGES), not the test
# references.
run:
	@$(MAKE) --no-print-directory setup APT_PACKAGES="$(RUN_APT_PACKAGES)"
	@$(MAKE) --no-print-directory build
	./$(BIN)/ds3d run

fmt:
	gofmt -w $$(git ls-files '*.go')

# docs: the component reference, generated from the registered specs (keys,
# types, defaults, rules, docs); apps/ds3d's TestComponentsDocFresh fails
# when the checked-in file differs.
.PHONY: docs
docs:
	$(GO) run $(GOTAGS) ./apps/ds3d components --markdown > docs/COMPONENTS.md

# gen-asm regenerates the AVX-512 assembly kernels from their generator
# (core2d/infer/kernels/gen_asm.py → gemm8_amd64.s); make lint checks that
# the committed file is what it prints.
.PHONY: gen-asm
gen-asm:
	python3 core2d/infer/kernels/gen_asm.py

clean:
	rm -rf $(BIN) out
include gpu/Makefile.inc

#!/usr/bin/env bash
# Reproduces the issue-15 numbers in one command (from the repository root):
#
#   docs/perf/run.sh [BASE_REV]          # or: make perf [BASE=main]
#
# 1. the benchmarks (index, encoder Go-side share, start-up load), -count 5;
# 2. the issue's load scenarios against a fresh install (real dev photos
#    imported through the real encoder, synthetic references up to 10k, 100
#    officers): the mixed load (100 users, 20 % searches, 60 s) and the
#    search-only load (4 users, 30 s), each report written with -json;
# 3. with BASE_REV (e.g. main), the same loads against that revision's
#    binary too, alternating base/new, so before and after come from one
#    sitting on the same data.
#
# SKIP_BENCH=1 runs the load tests only. Results go to docs/perf/results/ (machine.txt describes the machine).
# Needs: make onnxruntime models done, ../shared/eval/dev, curl. Takes about
# 10 minutes (20 with BASE_REV). Run it on a quiet machine: the 2-core dev
# box is shared, and its numbers say so (machine.txt records the load).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BASE=${1:-${BASE:-}}
OUT=${OUT:-$ROOT/docs/perf/results}
DEV=${DEV:-$ROOT/../shared/eval/dev}
DURATION=${DURATION:-60s}
COUNT=${COUNT:-5}
mkdir -p "$OUT"
T=$(mktemp -d /var/tmp/sketchmatch-perf.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

{
	echo "date: $(date -u +%FT%TZ)"
	echo "rev: $(git rev-parse --short HEAD) ($(git rev-parse --abbrev-ref HEAD))${BASE:+, base $BASE}"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
	echo "memory: $(free -g | awk '/Mem:/ {print $2 " GiB total, " $7 " GiB available"}')"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version)"
	echo "kernel: $(uname -sr)"
} > "$OUT/machine.txt"

if [ -z "${SKIP_BENCH:-}" ]; then
echo "== benchmarks" >&2
go test -run '^$' -bench 'SearchVsExact|BenchmarkSearch$/d=512|SearchFiltered/ratio' -benchtime 40x -count "$COUNT" -short \
	./internal/index | tee "$OUT/bench-index.txt"
for n in 1M 10M; do # one process each, for a clean RSS
	go test -run '^$' -bench "SearchLarge/d=512/n=$n\$" -benchtime 20x -count 1 -timeout 60m ./internal/index | tee -a "$OUT/bench-index-large.txt"
done
go test -run '^$' -bench 'GoOverheadCPU' -benchtime 80x -count "$COUNT" ./internal/embed 2>/dev/null | grep -E '^Benchmark|go-cpu' | tee "$OUT/bench-embed.txt"
go test -run '^$' -bench 'LoadIndex' -benchtime 3x -count 1 -timeout 30m ./internal/gallery | tee "$OUT/bench-load.txt"
fi

echo "== install for the load tests in $T" >&2
go build -o "$T/new/sketchmatch" ./cmd/sketchmatch
go build -o "$T/new/loadtest" ./cmd/loadtest
if [ -n "$BASE" ]; then
	mkdir -p "$T/src"
	git archive "$BASE" | tar -x -C "$T/src"
	(cd "$T/src" && go build -o "$T/base/sketchmatch" ./cmd/sketchmatch)
fi
export APP_ENV=development SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') HOST=127.0.0.1 PORT=${PORT:-8765} \
	DATABASE_PATH=$T/data/sketchmatch.db REFERENCE_FOLDER=$T/data/reference_database LOG_DIR=$T/logs \
	LOGIN_RATE_LIMIT=100000 MODELS_DIR=$ROOT/models ORT_LIBRARY_PATH=$ROOT/lib/libonnxruntime.so.1
# Only these runs are profiled (a comma-separated list of run names, e.g.
# PROFILE=base2,new2 for a profiled pair next to an unprofiled one): the
# mutex and block profiles PPROF=on turns on cost enough under 100 users to
# distort the page latencies they explain.
PROFILE=${PROFILE:-$([ -n "$BASE" ] && echo new2 || echo new)}
PASS=load-test-Passphrase-2026
"$T/new/sketchmatch" import "$DEV/photos" > "$T/import.out" 2>&1
"$T/new/loadtest" -db "$DATABASE_PATH" -refs "$REFERENCE_FOLDER" -seed-gallery 10000
"$T/new/loadtest" -db "$DATABASE_PATH" -seed-users 100 -user-prefix load -password "$PASS"

# serve BIN NAME: starts BIN, runs the mixed and the search-only load.
serve() {
	local bin=$1 name=$2 pprof=off
	case ",$PROFILE," in *",$name,"*) pprof=on ;; esac
	PPROF=$pprof "$bin" serve > "$T/serve-$name.out" 2>&1 &
	local pid=$!
	for _ in $(seq 120); do curl -fsS "http://$HOST:$PORT/readyz" > /dev/null 2>&1 && break; sleep 1; done
	# Profiles of 20 s of the mixed load phase (the PROFILE run only).
	[ "$pprof" = on ] && ( sleep 70 # past the 100 sign-ins (argon2id, ~35 s here) and the calibration
	  curl -fsS "http://$HOST:$PORT/debug/pprof/profile?seconds=20" -o "$OUT/pprof-cpu-$name.pb.gz" || true
	  curl -fsS "http://$HOST:$PORT/debug/pprof/mutex" -o "$OUT/pprof-mutex-$name.pb.gz" || true
	  curl -fsS "http://$HOST:$PORT/debug/pprof/block" -o "$OUT/pprof-block-$name.pb.gz" || true ) &
	"$T/new/loadtest" -url "http://$HOST:$PORT" -users 100 -duration "$DURATION" -sketches "$DEV/sketches" \
		-search-share 0.2 -history-share 0.3 -user-prefix load -password "$PASS" -pid "$pid" \
		-json "$OUT/load-mixed-$name.json" > "$OUT/load-mixed-$name.txt" 2>&1 || true
	"$T/new/loadtest" -url "http://$HOST:$PORT" -users 4 -duration 30s -sketches "$DEV/sketches" \
		-search-share 1 -history-share 0 -user-prefix load -password "$PASS" -pid "$pid" \
		-json "$OUT/load-search-$name.json" > "$OUT/load-search-$name.txt" 2>&1 || true
	grep -E 'VmHWM|VmRSS' "/proc/$pid/status" > "$OUT/rss-$name.txt" || true
	kill -TERM "$pid"; wait "$pid" || true
}
if [ -n "$BASE" ]; then
	serve "$T/base/sketchmatch" base
	serve "$T/new/sketchmatch" new
	serve "$T/base/sketchmatch" base2
	serve "$T/new/sketchmatch" new2
else
	serve "$T/new/sketchmatch" new
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
echo "results in $OUT" >&2

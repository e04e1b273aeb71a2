#!/usr/bin/env bash
# Profiled pair on the r2-sitting1 install: profiles are 20 s deltas taken
# once the sign-ins are done (the load phase proper).
set -u
T=${T:?run.sh install folder}; ROOT=$(cd "$(dirname "$0")/../../../.." && pwd); OUT=${OUT:-$(dirname "$0")}; DEV=${DEV:-$ROOT/../shared/eval/dev}
export APP_ENV=development SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') HOST=127.0.0.1 PORT=8792 \
	DATABASE_PATH=$T/data/sketchmatch.db REFERENCE_FOLDER=$T/data/reference_database LOG_DIR=$T/logs \
	LOGIN_RATE_LIMIT=100000 MODELS_DIR=$ROOT/models ORT_LIBRARY_PATH=$ROOT/lib/libonnxruntime.so.1
for name in base3 new3; do
	bin=$T/${name%3}/sketchmatch
	PPROF=on "$bin" serve > "$T/serve-$name.out" 2>&1 &
	pid=$!
	for _ in $(seq 120); do curl -fsS "http://$HOST:$PORT/readyz" > /dev/null 2>&1 && break; sleep 1; done
	"$T/new/loadtest" -url "http://$HOST:$PORT" -users 100 -duration 60s -sketches "$DEV/sketches" \
		-search-share 0.2 -history-share 0.3 -user-prefix load -password load-test-Passphrase-2026 -pid "$pid" \
		-json "$OUT/load-mixed-$name.json" > "$OUT/load-mixed-$name.txt" 2>&1 &
	lt=$!
	until grep -q 'single-search latency' "$OUT/load-mixed-$name.txt"; do sleep 1; done
	sleep 5
	for k in mutex block; do curl -fsS "http://$HOST:$PORT/debug/pprof/$k?seconds=20" -o "$OUT/pprof-$k-$name.pb.gz" & done
	curl -fsS "http://$HOST:$PORT/debug/pprof/profile?seconds=20" -o "$OUT/pprof-cpu-$name.pb.gz"
	wait $lt
	sleep 1
	kill -TERM $pid; wait $pid
done
echo "load average at end of base3/new3: $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/machine.txt

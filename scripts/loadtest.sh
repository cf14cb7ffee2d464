#!/usr/bin/env bash
# Service load test (issues #6 and #15): h2load against a release `rubric serve`, the server pinned to CPU 0
# (one tokio worker) and h2load to CPU 1.
#
#   bash scripts/loadtest.sh            # 20 s runs after 5 s warm-up
#   DURATION=5 WARMUP=2 bash scripts/loadtest.sh   # a quick try
#   RUBRIC=/tmp/rubric-before bash scripts/loadtest.sh   # another build of rubric, same runs
#
# In one run, on one server:
#   1. grpc.health.v1.Health/Check at full speed: the cost of the stack itself;
#   2. rubric.v1.ClassifierService/Classify of a 3 KB article (the seed article), default rules,
#      evidence on, at full speed;
#   3. ClassifyBatch of 100 such articles at full speed (articles per second);
#   4. Health/Check and Classify again at half of run 1's rate, for their p99 latencies.
# h2load counts any HTTP 200 as a success, and gRPC errors arrive as HTTP 200 with a grpc-status
# trailer, so after every run the script reads the server's Prometheus counters and fails if fewer
# calls ended OK than h2load counted, or if any call failed other than the streams h2load itself
# resets when its time is up (at most clients x streams, ending CANCELLED, or UNKNOWN "error
# reading a body from connection" when the reset comes while tonic reads the request).
# Results: target/loadtest/summary.md (and the h2load logs beside it).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-5}"
CLIENTS="${CLIENTS:-4}"
STREAMS="${STREAMS:-16}"
ARTICLE="${ARTICLE:-../shared/seeds/000_37e20e75fb50bf7a.txt}"
OUT=target/loadtest
PORT="${PORT:-50551}"
RUBRIC="${RUBRIC:-}"
METRICS_PORT="${METRICS_PORT:-50552}"

if ! command -v h2load >/dev/null 2>&1; then
  echo "== installing h2load (Debian package nghttp2-client)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nghttp2-client >/dev/null
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }
[ -f "$ARTICLE" ] || { echo "article $ARTICLE not found (set ARTICLE=...)" >&2; exit 1; }

if [ -n "$RUBRIC" ]; then
  [ -x "$RUBRIC" ] || { echo "RUBRIC=$RUBRIC is not an executable" >&2; exit 1; }
  echo "== building the request frames (server: $RUBRIC)"
  cargo build --release --locked --quiet --example loadtest_frames
else
  echo "== building the release binary and the request frames"
  cargo build --release --locked --quiet --bin rubric --example loadtest_frames
  RUBRIC=target/release/rubric
fi
mkdir -p "$OUT"
target/release/examples/loadtest_frames "$OUT" "$ARTICLE"

echo "== starting rubric serve on CPU 0 (one tokio worker)"
TOKIO_WORKER_THREADS=1 taskset -c 0 "$RUBRIC" serve \
  --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$METRICS_PORT" \
  --log-format json >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if "$RUBRIC" health-check --addr "127.0.0.1:$PORT" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
"$RUBRIC" health-check --addr "127.0.0.1:$PORT"

# Sums of grpc_server_handled_total for one method: OK, reset (CANCELLED or UNKNOWN), other.
handled() { # METHOD -> "ok reset other"
  curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="grpc_method=\"$1\"" '
    /^grpc_server_handled_total\{/ && index($0, m) {
      if (index($0, "grpc_code=\"OK\"")) ok += $NF
      else if (index($0, "grpc_code=\"CANCELLED\"") || index($0, "grpc_code=\"UNKNOWN\"")) reset += $NF
      else other += $NF
    }
    END { printf "%d %d %d\n", ok, reset, other }'
}

# run NAME PATH FRAME METHOD [RPS_PER_CLIENT]: one h2load run; appends a result line.
declare -A RPS P99 MEAN
run() {
  local name=$1 path=$2 frame=$3 method=$4 rate=${5:-}
  local before after log="$OUT/$name.log"
  before=$(handled "$method")
  local extra=()
  if [ -n "$rate" ]; then extra=(--rps="$rate"); fi
  echo "== $name: h2load -c $CLIENTS -m $STREAMS -D $DURATION --warm-up-time $WARMUP ${extra[*]} $path"
  taskset -c 1 h2load -c "$CLIENTS" -m "$STREAMS" -D "$DURATION" --warm-up-time "$WARMUP" \
    "${extra[@]}" -d "$OUT/$frame" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file "$log" "http://127.0.0.1:$PORT$path" >"$OUT/$name.out"
  local sent
  sent=$(awk '/^requests:/ {print $4}' "$OUT/$name.out")  # "succeeded" as h2load sees it
  local rps
  rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$OUT/$name.out")
  # h2load's log: start time, HTTP status, latency in microseconds, one line per request.
  read -r mean p99 < <(awk '{print $3}' "$log" | sort -n | awk '
    { v[NR] = $1; s += $1 }
    END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.0f %.0f\n", s / NR, v[i] }')
  # Calls still running when h2load stops end (and are counted) a little later: wait until the
  # counters settle.
  local settled="" now
  for _ in $(seq 50); do
    now=$(handled "$method")
    if [ "$now" = "$settled" ]; then break; fi
    settled=$now
    sleep 0.3
  done
  after=$now
  local b_ok b_reset b_other a_ok a_reset a_other
  read -r b_ok b_reset b_other <<<"$before"
  read -r a_ok a_reset a_other <<<"$after"
  local ok=$((a_ok - b_ok)) reset=$((a_reset - b_reset)) other=$((a_other - b_other))
  echo "   $rps req/s, mean ${mean} us, p99 ${p99} us; server: $ok OK, $reset reset by h2load at the end, $other failed; h2load: $sent succeeded"
  if [ "$other" -ne 0 ] || [ "$reset" -gt $((CLIENTS * STREAMS)) ]; then
    echo "FAIL: calls of $name ended with a gRPC error (see $OUT/server.log)" >&2
    exit 1
  fi
  if [ "$ok" -lt "$sent" ]; then
    echo "FAIL: h2load counted $sent successes but the server finished only $ok OK calls" >&2
    exit 1
  fi
  RPS[$name]=$rps; P99[$name]=$p99; MEAN[$name]=$mean
}

HEALTH=/grpc.health.v1.Health/Check
CLASSIFY=/rubric.v1.ClassifierService/Classify
BATCH=/rubric.v1.ClassifierService/ClassifyBatch

run health-max "$HEALTH" health.bin Check
run classify-max "$CLASSIFY" classify.bin Classify
run batch-max "$BATCH" batch.bin ClassifyBatch
half=$(awk -v r="${RPS[health-max]}" -v c="$CLIENTS" 'BEGIN { printf "%d", r / 2 / c }')
run health-half "$HEALTH" health.bin Check "$half"
run classify-half "$CLASSIFY" classify.bin Classify "$half"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
classify_vs_health=$(ratio "${RPS[classify-max]}" "${RPS[health-max]}")
batch_articles=$(awk -v r="${RPS[batch-max]}" 'BEGIN { printf "%.0f", r * 100 }')
batch_vs_unary=$(ratio "$batch_articles" "${RPS[classify-max]}")
p99_ratio=$(ratio "${P99[classify-half]}" "${P99[health-half]}")
verdict() { awk -v v="$1" -v g="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= g : v <= g; print ok ? "met" : "NOT met" }'; }

{
  echo "Load test: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "h2load $(h2load --version | head -1 | awk '{print $NF}'), -c $CLIENTS -m $STREAMS, ${DURATION} s after ${WARMUP} s warm-up;"
  echo "server pinned to CPU 0 with one tokio worker, h2load to CPU 1; article $(wc -c <"$ARTICLE") bytes."
  echo
  echo "| run | requests/s | mean latency | p99 latency |"
  echo "|---|---|---|---|"
  for n in health-max classify-max batch-max health-half classify-half; do
    echo "| $n | ${RPS[$n]} | ${MEAN[$n]} us | ${P99[$n]} us |"
  done
  echo
  echo "| goal | measured | |"
  echo "|---|---|---|"
  echo "| Classify >= 0.5x Health/Check requests/s (issue #15) | ${classify_vs_health}x | $(verdict "$classify_vs_health" 0.5 '>=') |"
  echo "| ClassifyBatch(100) >= 3x unary Classify in articles/s (issue #15) | ${batch_vs_unary}x ($batch_articles articles/s) | $(verdict "$batch_vs_unary" 3 '>=') |"
  echo "| Classify p99 <= 2x Health/Check p99 at half the health check's maximum rate ($half req/s per client) | ${p99_ratio}x | $(verdict "$p99_ratio" 2 '<=') |"
  echo
  echo "Every run: no call failed but the in-flight streams h2load resets when its time is up"
  echo "(server's grpc_server_handled_total by code), and the server finished at least as many OK calls as h2load counted."
} | tee "$OUT/summary.md"

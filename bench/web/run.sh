#!/usr/bin/env bash
# Load benchmark of `sipkit web` on loopback: requests/s and p99 latency for
# a code page, a comparison page and an API call, measured with wrk.
#
#   bench/web/run.sh            # 10 s per URL, 2 threads, 32 connections
#   DURATION=30s bench/web/run.sh
#
# Needs wrk (Debian: apt-get install wrk). Builds sipkit with --release.
# The server listens on 127.0.0.1 on a free high port; nothing leaves the
# machine. Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v wrk >/dev/null || { echo "bench/web: wrk not found (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked -p sipkit >&2
BIN="$CARGO_TARGET_DIR/release/sipkit"

OUT=$(mktemp)
"$BIN" web --listen 127.0.0.1:0 >"$OUT" 2>&1 &
PID=$!
# Stop only the server this script started.
trap 'kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 100); do
  grep -q "http://" "$OUT" && break
  sleep 0.1
done
BASE=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$OUT" | head -n1)
[ -n "$BASE" ] || { echo "bench/web: the server did not start:" >&2; cat "$OUT" >&2; exit 1; }
echo "bench/web: server at $BASE (pid $PID); wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency" >&2

echo "| what | URL | requests/s | p50 | p99 | transfer/s |"
echo "|---|---|---:|---:|---:|---:|"
for entry in "code page|/en/302" "code page (ru)|/ru/302" "comparison page|/ru/compare/202-vs-302" "API: one code|/api/v1/codes/302?lang=ru" "API: comparison|/api/v1/compare/202/302?lang=en"; do
  what=${entry%%|*}
  path=${entry#*|}
  curl -fsS -o /dev/null "$BASE$path"   # warm the page cache, check it answers
  res=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$BASE$path")
  echo "$res" >&2
  rps=$(echo "$res" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(echo "$res" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
  tps=$(echo "$res" | awk '/^Transfer\/sec:/ {print $2}')
  errs=$(echo "$res" | awk '/Non-2xx|Socket errors/ {print}')
  [ -z "$errs" ] || echo "bench/web: $what: $errs" >&2
  echo "| $what | \`$path\` | $rps | $p50 | $p99 | $tps |"
done

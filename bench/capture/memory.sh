#!/usr/bin/env bash
# Peak memory of `sipkit analyze` in every output mode, on generated
# captures of growing size: the figure should stay flat as the capture
# grows (issue #13: one pass; only open transactions and calls are kept).
# Prints Markdown table rows for BENCHMARKS.md: peak RSS ("Maximum resident
# set size" of /usr/bin/time -v), wall time and output size per mode.
#
#   bench/capture/memory.sh [PACKETS...]     (default 100000 1000000; needs /usr/bin/time)
#
# Modes: text (summary, then every call), JSON lines, the HTML report
# (`--html FILE --format json`: every call's ladder), and one call's
# ladder (`--call`). The captures (sipkit_capture::synth::scenario::bench_round
# rounds, as in run.sh) and the report are written under target/, never
# committed; peak RSS does not depend on the machine's load.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || set -- 100000 1000000
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is not installed (apt-get install time)" >&2; exit 1; }

# SIPKIT=path measures another build (e.g. an older commit's) instead.
[ -n "${SIPKIT:-}" ] || cargo build --release -q -p sipkit
cargo build --release -q -p sipkit-capture --example gen_capture
SIPKIT="${SIPKIT:-target/release/sipkit}"

measure() { # PACKETS MODE OUTPUT COMMAND...
  local packets="$1" mode="$2" output="$3"; shift 3
  local t; t=$(mktemp)
  /usr/bin/time -v -o "$t" "$@" > "$output"
  local kib secs
  kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$t")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$t")
  rm -f "$t"
  echo "$kib $secs"
}

echo "| mode | packets | calls | peak RSS | wall s | output |"
echo "|---|---:|---:|---:|---:|---:|"
for PACKETS in "$@"; do
  PCAP="target/bench-capture-${PACKETS}.pcap"
  [ -f "$PCAP" ] || target/release/examples/gen_capture "$PCAP" "$PACKETS" >&2
  OUT="target/bench-memory-out"
  HTML="target/bench-memory-report.html"
  CALLS=""
  for mode in json text html call; do
    case "$mode" in
      json) cmd=("$SIPKIT" analyze "$PCAP" --format json --progress never); file="$OUT" ;;
      text) cmd=("$SIPKIT" analyze "$PCAP" --progress never); file="$OUT" ;;
      html) cmd=("$SIPKIT" analyze "$PCAP" --format json --html "$HTML" --progress never); file="$HTML" ;;
      # A call from the middle of the capture (bench_round n's redirected call).
      call) cmd=("$SIPKIT" analyze "$PCAP" --call "redir-$((PACKETS / 66))@192.0.2.10" --progress never); file="$OUT" ;;
    esac
    read -r kib secs < <(measure "$PACKETS" "$mode" "$OUT" "${cmd[@]}")
    if [ "$mode" = json ]; then
      CALLS=$(grep -c '"type":"call"' "$OUT" || true)
    fi
    bytes=$(stat -c %s "$file")
    awk -v m="$mode" -v p="$PACKETS" -v c="$CALLS" -v k="$kib" -v s="$secs" -v b="$bytes" 'BEGIN {
      printf "| %s | %d | %d | %.1f MiB | %.1f | %.2f MB |\n", m, p, c, k / 1024, s, b / 1e6 }'
  done
  rm -f "$OUT" "$HTML"
done

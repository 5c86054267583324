#!/usr/bin/env bash
# `sipkit analyze --format json` against tshark on one generated capture, in
# the same run: tshark field extraction (frame number, Call-ID, method,
# status) and `tshark -q -z sip,stat`. Prints packets/s, MB/s (10^6 bytes)
# and peak RSS of each, as Markdown table rows for BENCHMARKS.md.
#
#   bench/capture/run.sh [PACKETS]     (default 1000000; needs tshark and /usr/bin/time)
#
# The capture (sipkit_capture::synth::scenario::bench_round: REGISTER with a
# 401 challenge, INVITE retransmitted once → 302 → ACK → new INVITE → 180 →
# 200 → ACK → BYE, and INVITE → 200 → ACK → REFER → 202 → two NOTIFYs →
# transferee's INVITE → BYEs) is written under target/, never committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
PACKETS="${1:-1000000}"
PCAP="target/bench-capture-${PACKETS}.pcap"
command -v tshark >/dev/null || { echo "bench: tshark is not installed (scripts/setup installs it)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is not installed (apt-get install time)" >&2; exit 1; }

cargo build --release -q -p sipkit
cargo build --release -q -p sipkit-capture --example gen_capture
[ -f "$PCAP" ] || target/release/examples/gen_capture "$PCAP" "$PACKETS" >&2
BYTES=$(stat -c %s "$PCAP")
cat "$PCAP" > /dev/null   # into the page cache, for every contender alike

run() { # NAME COMMAND...
  local name="$1"; shift
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" > /dev/null
  read -r secs user sys kib < "$t"; rm -f "$t"
  awk -v n="$name" -v s="$secs" -v u="$user" -v y="$sys" -v k="$kib" -v p="$PACKETS" -v b="$BYTES" 'BEGIN {
    c = u + y
    printf "| %s | %.2f | %.2f | %.0f | %.1f | %.0f | %.1f | %.0f MiB |\n", n, s, c, p / s, b / s / 1e6, p / c, b / c / 1e6, k / 1024 }'
}

# Wall time and CPU time (user + system): the host is shared, so CPU time is
# the steadier figure; both are single-threaded here.
echo "| command | wall s | CPU s | packets/s (wall) | MB/s (wall) | packets/s (CPU) | MB/s (CPU) | peak RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
run "sipkit analyze --format json" target/release/sipkit analyze "$PCAP" --format json --progress never
run "tshark -T fields (frame, Call-ID, method, status)" tshark -r "$PCAP" -T fields -e frame.number -e sip.Call-ID -e sip.Method -e sip.Status-Code
run "tshark -q -z sip,stat" tshark -r "$PCAP" -q -z sip,stat
echo "capture: $PACKETS packets, $BYTES bytes ($PCAP)" >&2

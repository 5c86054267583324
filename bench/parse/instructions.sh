#!/usr/bin/env bash
# Instructions per parse, sipkit against rsip, counted by callgrind: the same
# figure whatever else the machine is doing. Per call = (instructions at
# N=1100 - at N=100) / 1000, so start-up and file reading cancel out.
#
#   bench/parse/instructions.sh [MESSAGE.sip ...]   (default: the four bench messages)
#   PARSERS="sipkit rsip" bench/parse/instructions.sh   (a subset of the parsers)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --profile bench -p sipkit-message --example parse_loop
bin=${CARGO_TARGET_DIR:-target}/release/examples/parse_loop
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(testdata/messages/invite-sdp.sip testdata/messages/302-two-contacts.sip testdata/messages/register.sip testdata/messages/notify-sipfrag.sip)
count() { # parser file n
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-28s %-13s %10s\n' message parser instr/call
for f in "${files[@]}"; do
    for p in ${PARSERS:-sipkit-raw sipkit rsip sipkit-raw-typed sipkit-typed rsip-typed}; do
        a=$(count "$p" "$f" 100); b=$(count "$p" "$f" 1100)
        printf '%-28s %-13s %10d\n' "$(basename "$f")" "$p" $(( (b - a) / 1000 ))
    done
done

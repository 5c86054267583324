#!/bin/bash
# ABBA order, same arguments for both binaries.
for who in old new new old old new new old; do
  echo "=== $who $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 /tmp/bench-$who/bench/serve/bench.py --servers sipkit,sipkit-sqlite --invite-rates 5000 --register-rates 5000 --duration 10 --bindings 0 --out /tmp/bench-$who/results 2>&1 | grep -E "^\s+sipkit|^==" 
done
echo "=== end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

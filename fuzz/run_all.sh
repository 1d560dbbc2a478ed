#!/usr/bin/env bash
# Fuzz every reader in turn (one at a time: libFuzzer takes a core each), as before a
# release. Usage: bash fuzz/run_all.sh [SECONDS_PER_READER] [READER...]
# Found inputs go to a scratch corpus (never into fuzz/corpus/), crashes to
# $FUZZ_OUT/crashes/, one log per reader to $FUZZ_OUT/logs/; a summary line per reader.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-180}"
shift || true
out="${FUZZ_OUT:-/tmp/beaconhunt-fuzz}"
mkdir -p "$out/crashes" "$out/logs"
readers=("$@")
if [ ${#readers[@]} -eq 0 ]; then
  readers=(zeek-tsv-conn zeek-json-stream suricata nfdump-1.6 squid-native w3c-proxysg
           panos-rfc5424 winfw netfilter-kern mapped-csv mapped-jsonl sysmon-winlogbeat evtx)
fi
python="${PYTHON:-.venv/bin/python}"
for r in "${readers[@]}"; do
  work="$out/corpus/$r"
  mkdir -p "$work"
  seeds=("fuzz/corpus/$r")
  if [ "$r" = evtx ] && [ -d ../shared/samples/evtx-sysmon-samples ]; then
    seeds+=(../shared/samples/evtx-sysmon-samples)
  fi
  direct=()
  case "$r" in zeek-tsv-*|evtx) ;; *) direct=(-fuzz_direct_only=1) ;; esac
  log="$out/logs/$r.log"
  : >"$log"
  if [ ${#direct[@]} -gt 0 ]; then  # two thirds reader only (fast), a third the whole load
    "$python" fuzz/fuzz_readers.py "$r" "$work" "${seeds[@]}" "${direct[@]}" \
      -max_total_time=$((seconds * 2 / 3)) -timeout=30 -rss_limit_mb=4096 -max_len=65536 \
      -artifact_prefix="$out/crashes/$r-" >>"$log" 2>&1
    "$python" fuzz/fuzz_readers.py "$r" "$work" -max_total_time=$((seconds / 3)) -timeout=30 \
      -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$out/crashes/$r-" >>"$log" 2>&1
  else
    "$python" fuzz/fuzz_readers.py "$r" "$work" "${seeds[@]}" -max_total_time="$seconds" \
      -timeout=30 -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$out/crashes/$r-" \
      >>"$log" 2>&1
  fi
  runs=$(grep -ho "Done [0-9]* runs in [0-9]* second" "$log" | awk '{n += $2; s += $5} END {print n+0 " runs in " s+0 " s"}')
  crashes=$(ls "$out/crashes/$r-"* 2>/dev/null | wc -l)
  echo "$r: $runs, $crashes crash(es), corpus $(ls "$work" | wc -l) inputs"
done

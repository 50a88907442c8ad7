#!/usr/bin/env bash
# Runs the browser tests, each in a new network namespace that has only a loopback interface,
# so that nothing the server, the identity provider or the browsers send can leave the machine.
# Needs root (or sudo). Arguments name the scripts to run; by default all of them.
set -euo pipefail
cd "$(dirname "$0")"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo --preserve-env=SLUSS_BIN "$@"; fi; }
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(run.mjs room.mjs login.mjs admin.mjs audit.mjs meetings.mjs squeeze.mjs phone.mjs firefox.mjs)
status=0
for script in "${scripts[@]}"; do
  echo "== $script"
  as_root unshare -n sh -c 'ip link set lo up && exec node "$1"' sh "$script" || status=1
done
exit $status

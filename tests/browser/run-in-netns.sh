#!/usr/bin/env bash
# Runs the browser test in a new network namespace that has only a loopback interface, so that
# nothing the server or the browsers send can leave the machine. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo --preserve-env=SLUSS_BIN "$@"; fi; }
as_root unshare -n sh -c 'ip link set lo up && exec node run.mjs "$@"' sh "$@"

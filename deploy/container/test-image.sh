#!/usr/bin/env bash
# Builds the image (build-image.sh) and runs it with podman on loopback: it must become ready
# (/readyz on the operations listener), serve the start page over HTTPS, run as its own user,
# and exit 0 on `podman stop` (SIGTERM). Where this machine cannot run containers at all (the
# OCI runtime refuses to create one), it says so and skips; a container that starts and does
# not work fails the test.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=$(deploy/container/build-image.sh "${1:-target/release/sluss}")
echo "built $image ($(podman image inspect "$image" --format '{{.Size}}') bytes)"
name="sluss-image-test-$$"
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
# Lower limits than the host's: a sandboxed builder may not raise them, and Sluss needs few.
run_args=(--name "$name" --network host --ulimit nofile=16384:16384 --ulimit nproc=4096:4096
  -e SLUSS_SERVER__LISTEN=127.0.0.1:18743 -e SLUSS_SERVER__HTTP_REDIRECT_LISTEN=
  -e SLUSS_OPS__LISTEN=127.0.0.1:18744 -e SLUSS_MEDIA__PORT=18745 -e SLUSS_MEDIA__WORKERS=1)
started=""
for runtime in crun runc; do
  command -v "$runtime" >/dev/null 2>&1 || continue
  if err=$(podman --runtime "$runtime" run -d "${run_args[@]}" "$image" 2>&1); then
    started=$runtime
    break
  fi
  echo "podman with $runtime cannot create a container here: ${err##*Error: }"
  cleanup
done
if [ -z "$started" ]; then
  echo "SKIPPED: this machine cannot run containers (see above); the image was built"
  exit 0
fi
ready=""
for _ in $(seq 1 60); do
  ready=$(curl -s --max-time 1 http://127.0.0.1:18744/readyz || true)
  [ "$ready" = "ready" ] && break
  sleep 0.5
done
if [ "$ready" != "ready" ]; then
  echo "FAIL: the container never became ready; its log:"; podman logs "$name" 2>&1 | tail -20; exit 1
fi
page=$(curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:18743/)
[ "$page" = "200" ] || { echo "FAIL: the start page answered $page"; exit 1; }
user=$(podman inspect "$name" --format '{{.Config.User}}')
[ "$user" = "10001:10001" ] || { echo "FAIL: runs as $user"; exit 1; }
podman stop -t 20 "$name" >/dev/null
code=$(podman inspect "$name" --format '{{.State.ExitCode}}')
[ "$code" = "0" ] || { echo "FAIL: exit code $code on SIGTERM"; podman logs "$name" 2>&1 | tail -20; exit 1; }
echo "the image runs with podman ($started): ready, the start page over HTTPS, user 10001, exit 0 on SIGTERM"

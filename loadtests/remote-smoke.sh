#!/usr/bin/env bash
# The operator's path of the load tool, end to end on this machine: a Sluss started as a
# service would be (its own config and data directory), a booking API token and a staff
# account made with the service's own CLI, the account enrolled by `sluss-loadtest enrol`,
# then a short soak through the public address (--url) with the operations listener's
# counters (--ops-url). Its 10 s intervals of a tiny load on a shared machine vary more than
# a real soak's minutes, so the smoke lets them stray 50 % (the judge itself is unit-tested). A stale credentials file, a wrong token and a missing --staff are
# refused with a message, before any load. Usage: loadtests/remote-smoke.sh [sluss binary]
set -euo pipefail
trap 'echo "remote-smoke.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
SLUSS="${1:-target/release/sluss}"
LOAD=target/release/sluss-loadtest
DIR=$(mktemp -d /tmp/sluss-remote-smoke.XXXXXX)
PORT=18700
OPS=18709
cat >"$DIR/sluss.toml" <<CONF
[server]
listen = "127.0.0.1:$PORT"
http_redirect_listen = ""
public_url = "https://127.0.0.1:$PORT"
data_dir = "$DIR/data"
[media]
port = 29700
announce_ip = "127.0.0.1"
[ops]
listen = "127.0.0.1:$OPS"
[log]
level = "warn"
CONF
"$SLUSS" serve --config "$DIR/sluss.toml" >"$DIR/serve.out" 2>"$DIR/serve.err" &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$OPS/readyz" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$OPS/readyz" >/dev/null || { cat "$DIR/serve.err"; exit 1; }

export SLUSS_CONFIG="$DIR/sluss.toml"
"$SLUSS" api-token create --name lasttest --scope meetings:write | awk '/^token:/ {print $2}' >"$DIR/token"
test -s "$DIR/token"
LINK=$("$SLUSS" staff invite --username loadtest --name Lasttest --role staff | head -1)
unset SLUSS_CONFIG

"$LOAD" enrol --url "https://127.0.0.1:$PORT" --link "$LINK" --save "$DIR/staff.json" --insecure
test "$(stat -c %a "$DIR/staff.json")" = 600
# The link works once.
if "$LOAD" enrol --url "https://127.0.0.1:$PORT" --link "$LINK" --save "$DIR/again.json" --insecure 2>"$DIR/err"; then
  echo "a used enrolment link was taken again"; exit 1
fi
grep -q "refused" "$DIR/err"
# Without --staff, and with a token that is not one, nothing is loaded.
if "$LOAD" --url "https://127.0.0.1:$PORT" --token-file "$DIR/token" --insecure 2>"$DIR/err"; then exit 1; fi
grep -q -- "--staff" "$DIR/err"
echo "not_a_token" >"$DIR/bad"
if "$LOAD" --url "https://127.0.0.1:$PORT" --token-file "$DIR/bad" --staff "$DIR/staff.json" --insecure --json "$DIR/bad.json" >"$DIR/out" 2>"$DIR/err"; then
  echo "a wrong API token was taken"; exit 1
fi
grep -q "API token was refused" "$DIR/err"
sleep 31 # a TOTP code works once: the enrolment used this one, the login needs the next
"$LOAD" --url "https://127.0.0.1:$PORT" --ops-url "http://127.0.0.1:$OPS" --token-file "$DIR/token" \
  --staff "$DIR/staff.json" --insecure --scenario soak --meetings 2 --size 3 --seconds 30 --interval 10 \
  --max-drift 50 --json target/loadtest-remote-soak.json
# The meetings the tool made were cancelled at its end: the booking system lists none open.
kill -0 "$SERVER"
OPEN=$(curl -sk -H "Authorization: Bearer $(cat "$DIR/token")" "https://127.0.0.1:$PORT/api/v1/meetings" \
  | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["meetings"]))')
test "$OPEN" = 0 || { echo "$OPEN meetings left open"; exit 1; }
echo "remote smoke: enrolled, refused what it must, soaked through --url, meetings cancelled"

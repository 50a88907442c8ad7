#!/usr/bin/env bash
# Proves that the policy, forwarding and telephone cores stay sans-IO: no async runtime, no web
# framework, no database in their dependency trees, and no sockets, threads or clock reads
# in their code outside tests. sluss-phone holds its shells: its SIP stack over rsipstack
# (src/sip/rsip.rs, and the channel type its trait hands out in src/sip/mod.rs), and the
# tasks that run one call (src/call.rs, src/call/answer.rs) and its media around its bridge
# (src/leg_media.rs).
# The crate's dependency tree has a runtime for their sake; its other files are checked.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for crate in sluss-relay sluss-meeting; do
  deps=$(cargo tree -p "$crate" -e normal --prefix none --offline 2>/dev/null | awk '{print $1}' | sort -u)
  for banned in tokio mio axum hyper sqlx async-std smol; do
    if grep -qx "$banned" <<<"$deps"; then
      echo "sans-IO check: $crate depends on $banned"; fail=1
    fi
  done
done
for dir in gateway/relay/src signaling/meeting/src gateway/phone/src; do
  # Strip everything from a `#[cfg(test)]` onwards: unit tests may use the clock.
  # Test modules (tests.rs and a tests/ folder beside it) may use the clock; the code they
  # test may not.
  for f in $(find "$dir" -name '*.rs' ! -name 'tests.rs' ! -path '*/src/*/tests/*' ! -path 'gateway/phone/src/sip/rsip.rs' ! -path 'gateway/phone/src/sip/mod.rs' ! -path 'gateway/phone/src/leg_media.rs' ! -path 'gateway/phone/src/call.rs' ! -path 'gateway/phone/src/call/answer.rs'); do
    hits=$(sed '/#\[cfg(test)\]/,$d' "$f" | grep -vE '^\s*//' | grep -nE 'Instant::now\(|SystemTime::now\(|std::net::(UdpSocket|TcpStream|TcpListener)|std::thread::|tokio::' || true)
    if [ -n "$hits" ]; then
      echo "sans-IO check: $f touches IO or the clock:"; echo "$hits"; fail=1
    fi
  done
done
if [ "$fail" -ne 0 ]; then exit 1; fi
echo "sans-IO check: sluss-relay, sluss-meeting and sluss-phone use no runtime, socket, thread or clock"

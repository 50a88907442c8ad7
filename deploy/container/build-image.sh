#!/usr/bin/env bash
# Builds the OCI image localhost/sluss:<version> from scratch with buildah, on this machine and
# without any registry: the release binary, the shared libraries it links (as ldd lists them),
# a passwd entry for its user (10001), an empty state directory and the sample configuration.
# No shell, no package manager, nothing else. TLS roots are built into the binary (rustls).
#   deploy/container/build-image.sh [path/to/sluss]     (default target/release/sluss)
# Run it with podman (or hand it to Kubernetes, deploy/kubernetes/):
#   podman run --network host -v sluss-data:/var/lib/sluss localhost/sluss:<version>
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/sluss}
version=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
image="localhost/sluss:${version}"

ctr=$(buildah from scratch)
work=$(mktemp -d)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

buildah copy --chmod 0755 "$ctr" "$bin" /usr/local/bin/sluss >/dev/null
# The dynamic loader and the libraries the binary links, at the paths it looks for them.
for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u); do
  buildah copy "$ctr" "$(readlink -f "$lib")" "$lib" >/dev/null
done
printf 'root:x:0:0::/:/nonexistent\nsluss:x:10001:10001:Sluss:/var/lib/sluss:/nonexistent\n' > "$work/passwd"
printf 'root:x:0:\nsluss:x:10001:\n' > "$work/group"
buildah copy "$ctr" "$work/passwd" /etc/passwd >/dev/null
buildah copy "$ctr" "$work/group" /etc/group >/dev/null
mkdir -p "$work/state" "$work/tmp"
buildah copy --chown 10001:10001 --chmod 0700 "$ctr" "$work/state" /var/lib/sluss >/dev/null
buildah copy --chmod 1777 "$ctr" "$work/tmp" /tmp >/dev/null
buildah copy --chmod 0644 "$ctr" deploy/sluss.toml /etc/sluss/sluss.toml >/dev/null
buildah copy --chmod 0644 "$ctr" LICENSE /usr/share/doc/sluss/LICENSE >/dev/null

buildah config \
  --user 10001:10001 \
  --workingdir /var/lib/sluss \
  --entrypoint '["/usr/local/bin/sluss"]' \
  --cmd 'serve --config /etc/sluss/sluss.toml' \
  --env SLUSS_OPS__LISTEN=0.0.0.0:9464 \
  --port 8443/tcp --port 9464/tcp --port 40000/udp --port 40000/tcp \
  --volume /var/lib/sluss \
  --stop-signal SIGTERM \
  --label org.opencontainers.image.title=Sluss \
  --label org.opencontainers.image.description="Secure meeting gateway for health and social care" \
  --label org.opencontainers.image.licenses=AGPL-3.0-only \
  --label org.opencontainers.image.version="$version" \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
trap 'rm -rf "$work"' EXIT
echo "$image"

#!/usr/bin/env bash
# The container image, built for real with no container registry in reach:
#   .ci/image.sh build   base image from Debian packages (debootstrap), then the Dockerfile on it
#   .ci/image.sh smoke   `meshwatch --help` and `meshwatch serve` inside the image, /healthz
#   .ci/image.sh all     both (what .ci/run calls)
# Caches under ~/.cache/meshwatch-image: the debootstrapped base (a tarball, and the base
# image in buildah's vfs storage) and pip's cache (mounted into the build), so a second run
# downloads nothing. Intermediate layers are not kept by default: vfs copies the whole root
# filesystem for every layer, which costs more here than reinstalling from the warm pip cache
# (MESHWATCH_IMAGE_LAYERS=true keeps them). Prints the image size and each step's time.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${MESHWATCH_IMAGE_CACHE:-$HOME/.cache/meshwatch-image}"
suite="${MESHWATCH_IMAGE_SUITE:-bookworm}"
base_tag="localhost/meshwatch-base:$suite"
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' helm/meshwatch/Chart.yaml)
repository=$(sed -n 's/^  repository: *//p' helm/meshwatch/values.yaml | head -n 1)
image="${MESHWATCH_IMAGE:-$repository:$app_version}"
buildah=(buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)

ensure_tools() {
  local missing=()
  command -v buildah >/dev/null 2>&1 || missing+=(buildah)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# The Debian mirror this machine's apt already uses (no host is written down here).
mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  fi
  [ -n "$uri" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
  echo "$uri"
}

base_image() {
  local tarball="$cache/base-$suite.tar"
  if [ ! -s "$tarball" ]; then
    local root
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$suite" "$root" "$(mirror)"
    # an image needs no package lists, caches or logs
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* \
      "$root"/usr/share/doc/* "$root"/usr/share/man/*
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  if ! "${buildah[@]}" inspect --type image "$base_tag" >/dev/null 2>&1; then
    local ctr
    ctr=$("${buildah[@]}" from scratch)
    "${buildah[@]}" add "$ctr" "$tarball" /
    "${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd /bin/sh "$ctr"
    "${buildah[@]}" commit --rm "$ctr" "$base_tag"
  fi
}

build() {
  ensure_tools
  mkdir -p "$cache/pip"
  local start=$SECONDS
  base_image
  local based=$SECONDS
  # pip inside the build trusts what this machine trusts (a TLS-inspecting egress has its
  # own CA): the host's CA bundle and a pip.conf pointing at it, mounted for the build only
  local trust=() bundle
  bundle=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().openssl_cafile)')
  if [ -s "${PIP_CERT:-$bundle}" ]; then
    printf '[global]\ncert = /etc/ssl/certs/build-host-ca.crt\n' >"$cache/pip.conf"
    trust=(--volume "${PIP_CERT:-$bundle}:/etc/ssl/certs/build-host-ca.crt:ro"
      --volume "$cache/pip.conf:/etc/pip.conf:ro")
  fi
  "${buildah[@]}" bud --isolation chroot --layers="${MESHWATCH_IMAGE_LAYERS:-false}" \
    --build-arg "PYTHON_BASE=$base_tag" \
    --volume "$cache/pip:/root/.cache/pip" "${trust[@]}" \
    --tag "$image" -f Dockerfile .
  # drop dangling layers of earlier builds (vfs keeps full copies)
  "${buildah[@]}" rmi --prune >/dev/null 2>&1 || true
  local size
  size=$("${buildah[@]}" images --format '{{.Size}}' "$image" 2>/dev/null || echo "?")
  echo "image $image: $size; base $((based - start)) s, build $((SECONDS - based)) s"
}

smoke() {
  local ctr port pid ok=0 start=$SECONDS
  ctr=$("${buildah[@]}" from "$image")
  # shellcheck disable=SC2064
  trap "\"\${buildah[@]}\" rm \"$ctr\" >/dev/null 2>&1 || true" EXIT
  # `meshwatch --version` once the CLI has it, `--help` until then
  if "${buildah[@]}" run --isolation chroot "$ctr" -- meshwatch --help | grep -q -- '--version'; then
    "${buildah[@]}" run --isolation chroot "$ctr" -- meshwatch --version
  else
    "${buildah[@]}" run --isolation chroot "$ctr" -- meshwatch --help >/dev/null
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local log="$cache/smoke-serve.log"
  local mnt
  mnt=$("${buildah[@]}" mount "$ctr")
  touch "$cache/smoke-marker"
  # its own session, stopped by its process group id; the network is the host's (chroot)
  setsid "${buildah[@]}" run --isolation chroot "$ctr" -- \
    meshwatch serve --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    if python3 - "$port" <<'EOF' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
      ok=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$ok" != 1 ]; then
    echo "meshwatch serve in the image did not answer /healthz:" >&2
    cat "$log" >&2
    exit 1
  fi
  # read-only root friendly: serve wrote nothing outside its volume (/var/lib/meshwatch)
  local written
  written=$(cd "$mnt" && find . -xdev -newer "$cache/smoke-marker" -type f \
    -not -path './var/lib/meshwatch/*' -not -path './tmp/*' -not -path './etc/resolv.conf' \
    -not -path './etc/hosts' -not -path './etc/hostname' -print | head -n 20)
  if [ -n "$written" ]; then
    echo "serve wrote outside /var/lib/meshwatch and /tmp:" >&2
    echo "$written" >&2
    exit 1
  fi
  echo "smoke: /healthz answered from the image in $((SECONDS - start)) s"
}

case "${1:-all}" in
  build) build ;;
  smoke) smoke ;;
  all) build && smoke ;;
  *) echo "usage: $0 [build|smoke|all]" >&2; exit 2 ;;
esac

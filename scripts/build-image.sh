#!/usr/bin/env bash
# build-image.sh: the SketchMatch container image, built without a registry.
#
#   scripts/build-image.sh            (make image runs it)
#
# 1. Debian packages the binary and ONNX Runtime need at run time (libc6,
#    libgcc-s1, libstdc++6), tzdata, netbase and ca-certificates are fetched
#    with `apt-get download` (checked by apt against the signed archive
#    index) and unpacked with `dpkg -x` into a root file system. No shell, no
#    package manager, no maintainer scripts; documentation, manual pages,
#    locales and gconv modules are dropped. The CA bundle is concatenated from
#    the package's certificates (what update-ca-certificates would write).
# 2. The sketchmatch binary (built here with the version stamped in), the
#    pinned ONNX Runtime library and the default model preset are added after
#    their SHA-256 checksums are verified (the Makefile's for the library,
#    model.json's for the model).
# 3. rootfs.tar (sorted, fixed mtime and owners: reproducible for the same
#    packages and sources) + deploy/image/Dockerfile (FROM scratch) are built
#    with `podman build --format docker` (Docker format keeps HEALTHCHECK;
#    `docker build` works on the same context) and tagged
#    IMAGE:VERSION and IMAGE:latest.
#
# Environment: IMAGE (sketchmatch), VERSION (git describe), MODEL
# (faceplugin-arcface), ORT_LIB and ORT_LIB_SHA256 (from the Makefile),
# CONTAINER_TOOL (podman, or buildah or docker), IMAGE_WORK (.cache/image),
# DEB_CACHE (downloaded packages, IMAGE_WORK/debs),
# NO_BUILD=1 stops after rootfs.tar. Prints the packages, sizes, digest.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-sketchmatch}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
MODEL=${MODEL:-faceplugin-arcface}
ORT_LIB=${ORT_LIB:-lib/libonnxruntime.so.1}
ORT_LIB_SHA256=${ORT_LIB_SHA256:?set ORT_LIB_SHA256 (make image passes the Makefile pin)}
CONTAINER_TOOL=${CONTAINER_TOOL:-podman}
WORK=${IMAGE_WORK:-.cache/image}
PACKAGES=(libc6 libgcc-s1 libstdc++6 tzdata netbase ca-certificates)
UID_GID=65532

: "${CONTAINERS_CONF:=$PWD/deploy/podman/containers.conf}"
export CONTAINERS_CONF

die() { echo "build-image: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
t0=$(date +%s.%N)

command -v dpkg >/dev/null || die "dpkg not found (a Debian or Ubuntu build machine is needed)"
command -v apt-get >/dev/null || die "apt-get not found (a Debian or Ubuntu build machine is needed)"
[[ $(dpkg --print-architecture) == amd64 ]] || die "only amd64 is supported (ONNX Runtime library pin)"

# -- 1. Debian packages (cached by file name, which carries the version) ---
debs=${DEB_CACHE:-$WORK/debs}
mkdir -p "$debs"
# One apt-cache call (it is slow on a busy machine): "package version" lines.
declare -A ver
while read -r p v; do ver[$p]=$v; done < <(apt-cache policy "${PACKAGES[@]}" |
  awk '/^[^ ].*:$/ {sub(":$", ""); p=$1} /Candidate:/ {print p, $2}')
for p in "${PACKAGES[@]}"; do
  v=${ver[$p]:-}
  [[ -n $v && $v != "(none)" ]] || die "no candidate for $p: run apt-get update"
  if ! ls "$debs/${p}_${v//:/%3a}_"*.deb >/dev/null 2>&1; then
    (cd "$debs" && apt-get download -q "$p=$v" >/dev/null 2>&1) || die "apt-get download $p=$v failed (run apt-get update)"
  fi
done

root=$WORK/rootfs
rm -rf "$root"
mkdir -p "$root"
echo "packages:" >&2
for p in "${PACKAGES[@]}"; do
  v=${ver[$p]}
  f=$(ls "$debs/${p}_${v//:/%3a}_"*.deb | head -1)
  dpkg-deb --info "$f" >/dev/null || die "$f is not a valid package"
  dpkg -x "$f" "$root"
  printf '  %-16s %s\n' "$p" "$v" >&2
done
rm -rf "$root"/usr/share/{doc,man,info,lintian,locale,bug,gcc,gdb} \
       "$root"/usr/lib/x86_64-linux-gnu/gconv "$root"/usr/lib/x86_64-linux-gnu/audit \
       "$root"/etc/ld.so.conf.d "$root"/usr/sbin "$root"/sbin "$root"/usr/bin "$root"/bin \
       "$root"/usr/libexec "$root"/etc/ca-certificates.conf "$root"/usr/share/ca-certificates/.keep
# The CA bundle, as update-ca-certificates would write it.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat >"$root/etc/ssl/certs/ca-certificates.crt"
[[ -s $root/etc/ssl/certs/ca-certificates.crt ]] || die "empty CA bundle"
rm -rf "$root/usr/share/ca-certificates"

# Users: root, the service user and nobody; no login shells exist.
mkdir -p "$root/etc"
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/nonexistent
sketchmatch:x:$UID_GID:$UID_GID:sketchmatch:/data:/nonexistent
nobody:x:65534:65534:nobody:/nonexistent:/nonexistent
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
sketchmatch:x:$UID_GID:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
ln -sf /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"

# -- 2. binary, ONNX Runtime, model (verified) ----------------------------
app=$root/opt/sketchmatch
mkdir -p "$app/bin" "$app/lib" "$app/models"
GOFLAGS=${GOFLAGS:-} CGO_ENABLED=1 ${GO:-go} build -trimpath \
  -ldflags "-s -w -X github.com/sketchmatch/sketchmatch/internal/app.Version=$VERSION" \
  -o "$app/bin/sketchmatch" ./cmd/sketchmatch
[[ -f $ORT_LIB ]] || die "$ORT_LIB missing: run make onnxruntime"
[[ $(sha "$ORT_LIB") == "$ORT_LIB_SHA256" ]] || die "$ORT_LIB does not match its pinned sha256 $ORT_LIB_SHA256"
install -m 0644 "$ORT_LIB" "$app/lib/libonnxruntime.so.1"
mdir=models/$MODEL
[[ -f $mdir/model.json ]] || die "$mdir/model.json missing"
mkdir -p "$app/models/$MODEL"
install -m 0644 "$mdir/model.json" "$app/models/$MODEL/"
# model.json lists every file with its sha256.
files=$(sed -n 's/.*"path": *"\([^"]*\)", *"sha256": *"\([0-9a-f]\{64\}\)".*/\2  \1/p' "$mdir/model.json")
[[ -n $files ]] || die "$mdir/model.json lists no files"
(cd "$mdir" && sha256sum --quiet -c <<<"$files") || die "$mdir does not match model.json: run make models MODELS=$MODEL"
while read -r _ f; do install -m 0644 "$mdir/$f" "$app/models/$MODEL/$f"; done <<<"$files"

mkdir -p "$root/data" "$root/config" "$root/tmp" "$root/root"
chmod 1777 "$root/tmp"
chmod 0700 "$root/data" "$root/root"
chmod 0755 "$root/config"

# -- 3. rootfs.tar and the image -----------------------------------------
ctx=$WORK/context
mkdir -p "$ctx"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
tarflags=(--sort=name --mtime="@$epoch" --numeric-owner --format=gnu)
# Everything root-owned and read-only to the service, except /data.
tar "${tarflags[@]}" --owner=0 --group=0 --exclude=./data -cf "$ctx/rootfs.tar" -C "$root" .
tar "${tarflags[@]}" --owner=$UID_GID --group=$UID_GID --no-recursion -rf "$ctx/rootfs.tar" -C "$root" ./data
cp deploy/image/Dockerfile "$ctx/Dockerfile"

echo "root file system ($(du -sh --apparent-size "$ctx/rootfs.tar" | cut -f1)B tar):" >&2
for part in opt/sketchmatch/models opt/sketchmatch/lib opt/sketchmatch/bin usr/lib usr/share/zoneinfo lib etc; do
  [[ -e $root/$part ]] && printf '  %-26s %s\n' "/$part" "$(du -sh --apparent-size "$root/$part" | cut -f1)" >&2
done

if [[ ${NO_BUILD:-} == 1 ]]; then
  echo "rootfs.tar written to $ctx (NO_BUILD=1: no image built)" >&2
  exit 0
fi
command -v "$CONTAINER_TOOL" >/dev/null || die "$CONTAINER_TOOL not found (Debian: apt-get install podman buildah runc)"
labels=(--label "org.opencontainers.image.version=$VERSION"
        --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
        --label "org.opencontainers.image.title=SketchMatch")
case $CONTAINER_TOOL in
  podman) podman build -q --format docker "${labels[@]}" -t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$ctx" >/dev/null ;;
  buildah) buildah bud -q --format docker "${labels[@]}" -t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$ctx" >/dev/null ;;
  docker) docker build -q "${labels[@]}" -t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$ctx" >/dev/null ;;
  *) die "CONTAINER_TOOL must be podman, buildah or docker" ;;
esac
t1=$(date +%s.%N)
id=$($CONTAINER_TOOL image inspect --format '{{.Id}}' "$IMAGE:$VERSION")
size=$($CONTAINER_TOOL image inspect --format '{{.Size}}' "$IMAGE:$VERSION")
digest=$($CONTAINER_TOOL image inspect --format '{{.Digest}}' "$IMAGE:$VERSION" 2>/dev/null || true)
layers=$($CONTAINER_TOOL image inspect --format '{{len .RootFS.Layers}}' "$IMAGE:$VERSION")
printf 'image %s:%s (and :latest)\n  id      %s\n  digest  %s\n  size    %s bytes (%s MB)\n  layers  %s\n  built in %.1f s\n' \
  "$IMAGE" "$VERSION" "$id" "${digest:-n/a}" "$size" "$((size / 1000000))" "$layers" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >&2

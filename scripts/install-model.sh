#!/usr/bin/env bash
# install-model.sh NAME
#
# Installs the weights of a model preset into models/NAME/, next to its
# committed manifest models/NAME/model.json, and checks every file's sha256.
# Idempotent: files already present with the right checksum are left alone.
# Needs no Python. Presets:
#
#   faceplugin-arcface  (default) face detector + 68 landmarks + 512-d
#                       ArcFace-style embedder from the npm package
#                       faceplugin-face-recognition-js@0.0.1 (npm registry
#                       only; offline works with the tarball in the npm-fetch
#                       cache, NPM_FETCH_CACHE, default .cache/npm)
#   clip-vit-b32        OpenAI CLIP ViT-B/32 image encoder (uint8 ONNX export
#                       by josephrocca), downloaded from Hugging Face with curl
set -euo pipefail
cd "$(dirname "$0")/.."

presets="faceplugin-arcface clip-vit-b32"
name=${1:-}
if [[ -z $name ]]; then
  echo "usage: $0 NAME   (presets: $presets)" >&2
  exit 2
fi

sha() { sha256sum "$1" | cut -d' ' -f1; }

case "$name" in
faceplugin-arcface)
  pkg=faceplugin-face-recognition-js@0.0.1
  tgz_sha=7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba
  dir=models/faceplugin-arcface
  # member in package/  -> installed name, sha256 (both as in the package)
  while read -r member dest sum; do
    scripts/npm-fetch.sh "$pkg" "$tgz_sha" "package/$member" "$dir/$dest" "$sum"
  done <<'LIST'
model/fr_detect.onnx fr_detect.onnx 6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854
model/fr_landmark.onnx fr_landmark.onnx f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258
model/fr_feature.onnx fr_feature.onnx 87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
LICENSE LICENSE.upstream ceb7e9130f684a8e335940a09ccfb81c2fa18f6aa54975d656c54bb7992aee1a
LIST
  echo "model preset $name installed in $dir" >&2
  ;;

clip-vit-b32)
  repo=rocca/openai-clip-js
  commit=ddec829ae672daeacf9bdc4868faa4ae008b2990
  file=clip-image-vit-32-uint8.onnx
  size=88449115
  sum=a5a97f5877ab503a6a0878e048de2d23ec7f0b881b70ee8f99b11f431f76da6d
  dest=models/clip-vit-b32/model.onnx
  url="https://huggingface.co/$repo/resolve/$commit/$file"
  if [[ -f $dest ]] && [[ $(sha "$dest") == "$sum" ]]; then
    exit 0
  fi
  command -v curl >/dev/null || { echo "error: curl is needed to download $name" >&2; exit 1; }
  mkdir -p "$(dirname "$dest")"
  tmp="$dest.part"
  trap 'rm -f "$tmp"' EXIT
  echo "downloading $name: $url (about 85 MiB) ..." >&2
  if ! curl -fsSL --retry 2 --connect-timeout 20 -o "$tmp" "$url"; then
    echo "error: could not download $url." >&2
    echo "  The CLIP preset needs internet access to huggingface.co. On an offline machine, copy" >&2
    echo "  $file (sha256 $sum) to $dest by other means, or use the default preset (MODEL=faceplugin-arcface)." >&2
    exit 1
  fi
  got_size=$(stat -c %s "$tmp")
  if [[ $got_size != "$size" ]]; then
    echo "error: $url gave $got_size bytes, expected $size; refusing to install it" >&2
    exit 1
  fi
  got=$(sha "$tmp")
  if [[ $got != "$sum" ]]; then
    echo "error: $url has sha256 $got, expected $sum; refusing to install it" >&2
    exit 1
  fi
  mv "$tmp" "$dest"
  trap - EXIT
  echo "installed $dest" >&2
  ;;

*)
  echo "error: unknown model preset '$name'; available presets: $presets" >&2
  exit 2
  ;;
esac

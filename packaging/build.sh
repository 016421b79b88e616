#!/usr/bin/env bash
# Build the packaged desktop app (Linux, amd64) from the project's .venv.
#
#   bash packaging/build.sh deb    # dist/motion-dataset-workstation_VERSION_amd64.deb (+ lintian)
#   bash packaging/build.sh tar    # dist/motion-dataset-workstation-VERSION-linux-x86_64.tar.zst
#   bash packaging/build.sh all    # both
#
# Needs: the .venv with the `package` extra (pyinstaller, uv) and TransNetV2's ONNX export
# (scripts/setup.sh makes both), and dpkg-dev, fakeroot-free dpkg-deb, lintian, zstd.
# Environment: PYTHON (default .venv/bin/python), DEB_COMPRESS (xz, the default, or gzip),
# LINTIAN=0 to skip lintian.  The .deb leaves system libraries to Debian (Depends computed by
# dpkg-shlibdeps plus what Qt and libmpv load at run time); the .tar.zst bundles them, libmpv too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-deb}
PY=${PYTHON:-$ROOT/.venv/bin/python}
VENV_BIN=$(dirname "$PY")
NAME=motion-dataset-workstation
APP_ID=org.motiondataset.Workstation
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}  # this tree's code, not an editable install's
BUILD=$ROOT/build/package
mkdir -p "$BUILD" dist

log() { echo "build.sh: $*" >&2; }

pyinstaller_run() {  # $1: output folder, $2: 1 = bundle libmpv
  local out=$1
  rm -rf "$BUILD/wheel" && mkdir -p "$BUILD/wheel"
  "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$BUILD/wheel" . >&2
  local onnx
  onnx=$("$PY" -c 'from workstation.core.detect import transnet_onnx as t; print(t.SHIPPED)')
  [ -f "$onnx" ] || { log "$onnx is missing: run bash scripts/setup.sh none"; exit 1; }
  WS_UV=$VENV_BIN/uv WS_WHEEL=$(ls "$BUILD"/wheel/*.whl) WS_ONNX=$onnx WS_BUNDLE_LIBMPV=$2 \
    "$VENV_BIN/pyinstaller" --noconfirm --log-level WARN --distpath "$out" \
    --workpath "$BUILD/work-$2" packaging/workstation.spec >&2
}

# System libraries PyInstaller copied that Debian ships byte for byte: dropped from the bundle,
# their packages go to Depends (dpkg-shlibdeps finds them again from the ELF files).
drop_system_libs() {  # $1: the _internal folder
  local f name sys
  for f in "$1"/*.so*; do
    name=$(basename "$f")
    case "$name" in libpython*) continue ;; esac
    for sys in /usr/lib/x86_64-linux-gnu/"$name" /lib/x86_64-linux-gnu/"$name"; do
      if [ -f "$sys" ] && cmp -s "$f" "$sys" && dpkg -S "$sys" >/dev/null 2>&1; then
        rm -f "$f"
        break
      fi
    done
  done
}

shlib_depends() {  # $1: the folder to scan; prints dpkg-shlibdeps' Depends
  local work=$BUILD/shlibdeps dirs
  rm -rf "$work" && mkdir -p "$work/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: amd64\n' "$NAME" "$NAME" > "$work/debian/control"
  dirs=$(find "$1" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
  mapfile -t elves < <(find "$1" -type f \( -name '*.so*' -o -name workstation \) \
    -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \; | grep -v '/bin/uv$')
  (cd "$work" && dpkg-shlibdeps -O --ignore-missing-info -l"$dirs" -e "${elves[@]}" \
    2>"$BUILD/shlibdeps.log") | sed -n 's/^shlibs:Depends=//p'
}

# Loaded at run time (dlopen, plugins, fonts), so dpkg-shlibdeps cannot see them.
RUNTIME_DEPENDS="libmpv2, libgl1, libegl1, libwayland-client0, libwayland-cursor0, libwayland-egl1, \
libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, \
libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1, libxcb-xfixes0, \
libxcb-sync1, libxcb-shm0, libxcb-render0, libx11-xcb1, libfontconfig1, fontconfig, \
fonts-dejavu-core, libdbus-1-3, libglib2.0-0, python3 (>= 3.11)"

build_deb() {
  local dist=$BUILD/deb-bundle root=$BUILD/deb-root opt=/opt/$NAME
  pyinstaller_run "$dist" 0
  rm -rf "$root" && mkdir -p "$root$opt" "$root/DEBIAN" "$root/usr/bin"
  cp -a "$dist/workstation/." "$root$opt/"
  drop_system_libs "$root$opt/_internal"
  ln -s "$opt/workstation" "$root/usr/bin/workstation"
  local res=workstation/resources share=$root/usr/share size
  install -Dm644 "$res/$APP_ID.desktop" "$share/applications/$APP_ID.desktop"
  install -Dm644 "$res/$APP_ID.metainfo.xml" "$share/metainfo/$APP_ID.metainfo.xml"
  install -Dm644 "$res/icons/$APP_ID.svg" "$share/icons/hicolor/scalable/apps/$APP_ID.svg"
  for size in 16 32 48 64 128 256 512; do
    install -Dm644 "$res/icons/$APP_ID-$size.png" "$share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
  done
  install -d "$share/man/man1" "$share/doc/$NAME" "$share/lintian/overrides"
  gzip -9n < packaging/workstation.1 > "$share/man/man1/workstation.1.gz"
  install -m644 packaging/debian/copyright "$share/doc/$NAME/copyright"
  sed "s/@VERSION@/$VERSION/; s/@DATE@/$(date -Ru -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")/" \
    packaging/debian/changelog | gzip -9n > "$share/doc/$NAME/changelog.gz"
  install -m644 packaging/debian/lintian-overrides "$share/lintian/overrides/$NAME"
  chmod -R u=rwX,go=rX "$root"
  # Shared objects are not programs (the wheels ship some with the executable bit).
  find "$root$opt/_internal" -type f -name '*.so*' -exec chmod a-x {} +
  local depends
  depends=$(shlib_depends "$root$opt")
  # One entry per package: dpkg-shlibdeps' (versioned) first, then the run-time ones it missed.
  depends=$(echo "${depends:+$depends, }$RUNTIME_DEPENDS" | awk -v RS=', ' -v ORS=', ' \
    '{ sub(/\n$/, ""); split($0, w, " "); if (!seen[w[1]]++) print }' | sed 's/, $//')
  sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" \
    -e "s/@DEPENDS@/$depends/" packaging/debian/control > "$root/DEBIAN/control"
  (cd "$root" && find opt usr -type f -print0 | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
  local deb=dist/${NAME}_${VERSION}_amd64.deb
  # xz or gzip: lintian >= 2.116 rejects zstd-compressed packages.
  # DEB_COMPRESS=gzip DEB_LEVEL=1 is what CI uses: xz takes ~8 minutes on 2 busy cores.
  dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" -z"${DEB_LEVEL:-6}" --build "$root" "$deb" >&2
  log "$deb: $(du -h "$deb" | cut -f1) (installed $(du -sh --exclude=DEBIAN "$root" | cut -f1))"
  if [ "${LINTIAN:-1}" = 1 ]; then
    lintian --fail-on error,warning "$deb" >&2
    log "lintian: clean"
  fi
}

build_tar() {
  local dist=$BUILD/tar-bundle
  pyinstaller_run "$dist" 1
  local tarball=dist/$NAME-$VERSION-linux-x86_64.tar.zst
  rm -rf "$dist/$NAME-$VERSION" && mv "$dist/workstation" "$dist/$NAME-$VERSION"
  tar -C "$dist" --owner=0 --group=0 -I 'zstd -T0 -10' -cf "$tarball" "$NAME-$VERSION"
  log "$tarball: $(du -h "$tarball" | cut -f1)"
}

case "$MODE" in
  deb) build_deb ;;
  tar) build_tar ;;
  all) build_deb && build_tar ;;
  *) echo "usage: bash packaging/build.sh deb|tar|all" >&2; exit 2 ;;
esac

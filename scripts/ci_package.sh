#!/usr/bin/env bash
# CI's package check: build the .deb, install it into a fresh minimal Debian 12 chroot, use it there.
#
#   bash scripts/ci_package.sh        # as root (debootstrap, chroot, mounts); needs the .venv
#
# 1. packaging/build.sh deb (gzip -1 and lintian unless LINTIAN=0: xz costs minutes on 2 cores)
# 2. a bare `debootstrap --variant=minbase bookworm` system (made once, kept in
#    build/package/chroot-base; every run starts from a fresh copy of it)
# 3. `apt-get install ./the.deb` there (plus xvfb + xauth, only to have a display), then as an
#    ordinary user: `workstation demo`, `workstation detect DEMO --jobs 2` (the frozen app's
#    spawned workers), `split`, `set-caption`, `export` in each layout, and `workstation --smoke --screenshot` under Xvfb, whose screenshot must
#    show rendered text (a system without fonts draws empty boxes and still exits 0).
# REUSE_DEB=1 skips step 1 (tests the .deb in dist/). Timings go to build/package/ci-times.json (docs/benchmarks.md has the figures).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
WORK=$ROOT/build/package
BASE=${CHROOT_BASE:-$WORK/chroot-base}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
C=$WORK/chroot
mkdir -p "$WORK"
log() { echo "ci_package: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
declare -A T

if [ "$(id -u)" -ne 0 ]; then log "needs root (debootstrap, chroot)"; exit 2; fi
need=()
for tool in debootstrap:debootstrap dpkg-shlibdeps:dpkg-dev lintian:lintian zstd:zstd; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
"$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.10" "uv>=0.5" >&2

t=$(now)
if [ "${REUSE_DEB:-0}" != 1 ]; then  # REUSE_DEB=1: test the .deb already in dist/ (iterating)
  DEB_COMPRESS=${DEB_COMPRESS:-gzip} DEB_LEVEL=${DEB_LEVEL:-1} PYTHON=$PY bash packaging/build.sh deb
fi
T[build_s]=$(since "$t")
DEB=$(ls -t dist/motion-dataset-workstation_*_amd64.deb | head -1)

t=$(now)
if [ ! -x "$BASE/usr/bin/apt-get" ]; then
  log "debootstrap --variant=minbase bookworm (once)"
  rm -rf "$BASE.part"
  debootstrap --variant=minbase bookworm "$BASE.part" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -5 "$WORK/debootstrap.log" >&2; exit 1; }
  mv "$BASE.part" "$BASE"
fi
cleanup() {
  for m in dev/shm dev/pts dev proc; do mountpoint -q "$C/$m" && umount -l "$C/$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$C" && cp -a "$BASE" "$C"
mount -t proc proc "$C/proc" && mount --bind /dev "$C/dev" && mount --bind /dev/pts "$C/dev/pts"
mount -t tmpfs -o mode=1777 shm "$C/dev/shm"  # multiprocessing's semaphores (detect --jobs 2)
cp /etc/resolv.conf "$C/etc/resolv.conf"
cp "$DEB" "$C/tmp/"
T[chroot_s]=$(since "$t")

t=$(now)
in_chroot() { chroot "$C" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_chroot apt-get update -qq >&2
in_chroot apt-get install -y -qq "/tmp/$(basename "$DEB")" xvfb xauth >"$WORK/apt-install.log" 2>&1 \
  || { tail -20 "$WORK/apt-install.log" >&2; exit 1; }
T[apt_install_s]=$(since "$t")
T[packages]=$(in_chroot dpkg-query -W -f='.\n' | wc -l)
in_chroot useradd -m -u 4242 tester
as_user() {
  chroot --userspec=4242:4242 "$C" env -i HOME=/home/tester PATH=/usr/bin:/bin LANG=C.UTF-8 \
    HF_HUB_OFFLINE=1 "$@"
}
test -f "$C/usr/share/applications/org.motiondataset.Workstation.desktop"

t=$(now)
as_user workstation demo /home/tester/demo >&2
as_user workstation detect /home/tester/demo --jobs 2 -q >&2
T[demo_detect_s]=$(since "$t")
# Every stage up to export with nothing but the package: slice (spawned encoders), export in
# each layout (every clip decoded back), a caption set by hand on the way.
t=$(now)
as_user workstation split /home/tester/demo -q >&2
as_user workstation set-caption /home/tester/demo 'a ball bounces' --filter 'video:demo_anime*' >&2
for fmt in pairs webvid webdataset; do
  as_user workstation export /home/tester/demo --format "$fmt" --out "/home/tester/export-$fmt" -q >&2
done
test -s "$C/home/tester/export-pairs/metadata.jsonl"
find "$C/home/tester/export-webdataset" -name '*.tar' | grep -q .
T[split_export_s]=$(since "$t")
smoke=$(as_user xvfb-run -a -s "-screen 0 1280x800x24" workstation --smoke --project /home/tester/demo \
  --screenshot /tmp/smoke.png 2>"$WORK/smoke.log" | tail -1) || { tail -20 "$WORK/smoke.log" >&2; exit 1; }
log "smoke in the chroot: $smoke"
cp "$C/tmp/smoke.png" "$WORK/chroot-smoke.png"

# The same smoke run with fontconfig given no fonts: every label becomes a row of empty boxes.
printf '<?xml version="1.0"?>\n<fontconfig></fontconfig>\n' > "$C/tmp/no-fonts.conf"
as_user env FONTCONFIG_FILE=/tmp/no-fonts.conf xvfb-run -a -s "-screen 0 1280x800x24" workstation \
  --smoke --project /home/tester/demo --screenshot /tmp/no-fonts.png >/dev/null 2>>"$WORK/smoke.log"
cp "$C/tmp/no-fonts.png" "$WORK/chroot-no-fonts.png"

# Text rendered = the menu bar's labels (rows 2-17) have anti-aliased glyphs: many shades. Empty
# boxes have three (measured: 192 vs 3); the no-fonts render must fail the same check.
"$PY" - "$WORK/chroot-smoke.png" "$WORK/chroot-no-fonts.png" <<'EOF'
import sys
from PIL import Image

def shades(path):
    return len(Image.open(path).convert("RGB").crop((0, 2, 240, 17)).getcolors(1 << 16) or [])

real, boxes = shades(sys.argv[1]), shades(sys.argv[2])
print(f"ci_package: menu bar text: {real} shades (without fonts: {boxes})", file=sys.stderr)
if real < 20:
    sys.exit(f"ci_package: {sys.argv[1]}: the menu bar shows no rendered text (fonts missing?)")
if boxes >= 20:
    sys.exit("ci_package: the text check cannot tell a render without fonts from one with them")
EOF

{
  printf '{"deb": "%s", "deb_bytes": %s, "smoke": %s' "$DEB" "$(stat -c %s "$DEB")" "$smoke"
  for k in "${!T[@]}"; do printf ', "%s": %s' "$k" "${T[$k]}"; done
  printf '}\n'
} | tee "$WORK/ci-times.json"
log "passed"

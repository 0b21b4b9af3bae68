#!/usr/bin/env bash
# Installs whatever is missing for spmis on Debian/Ubuntu (apt) or macOS (Homebrew): system packages, a
# virtualenv in .venv and the pinned Python dependencies. What is already there is reused.
#   scripts/bootstrap.sh          # what the app needs
#   scripts/bootstrap.sh --test   # plus what the test suite needs (Chromium for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PACKAGES=(postgresql-15 postgresql-client-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin libgdal-dev
          libgeos-dev libproj-dev osm2pgrouting osmium-tool redis-server python3 python3-venv python3-dev make)
TEST_PACKAGES=(chromium)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_debian() {
  local wanted=("${PACKAGES[@]}")
  [ "$want_test" = 1 ] && wanted+=("${TEST_PACKAGES[@]}")
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "Please install as root: apt-get install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_macos() {
  command -v brew >/dev/null || { echo "Homebrew is required on macOS: https://brew.sh" >&2; exit 1; }
  for formula in postgresql@15 postgis pgrouting gdal geos proj redis python@3.11; do
    brew list --versions "$formula" >/dev/null 2>&1 || { say "brew install $formula"; brew install "$formula"; }
  done
  [ "$want_test" = 1 ] && { brew list --cask chromium >/dev/null 2>&1 || brew install --cask chromium; }
  export PG_BINDIR="$(brew --prefix postgresql@15)/bin"
}

case "$(uname -s)" in
  Linux) command -v apt-get >/dev/null && install_debian || echo "Not a Debian-family system: install the packages listed in docs/install.md yourself." ;;
  Darwin) install_macos ;;
esac

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    command -v "$candidate" >/dev/null && { python_bin="$candidate"; break; }
  done
fi
if [ ! -x .venv/bin/python ]; then
  say "Creating the virtualenv (.venv) with $python_bin"
  "$python_bin" -m venv .venv
fi

stamp=.venv/.requirements.sha256
digest=$(sha256sum requirements.txt 2>/dev/null | cut -d' ' -f1 || shasum -a 256 requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  say "Installing Python dependencies (requirements.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip wheel
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$digest" > "$stamp"
fi

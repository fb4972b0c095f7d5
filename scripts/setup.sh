#!/usr/bin/env bash
# Idempotent set-up run first by `npm test`, `npm run demo` and `npm run bench`.
# Installs what is missing (Debian packages, npm dependencies, the native binding) and
# prints one line per thing it actually does; when everything is in place it is silent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# a. Debian packages (libgloo-dev: the gloo headers c10d's ProcessGroupGloo.hpp includes, for the
#    distributed binding; python3-torch, used only by cross-check benchmarks and fixture
#    regeneration, is deliberately not installed here).
packages=(libtorch-dev libgloo-dev libopenblas0-pthread dataset-fashion-mnist chromium)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${packages[@]}"; do
    # (a string test rather than `| grep -q`: with pipefail an early grep exit could read as failure)
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != *"install ok installed"* ]]; then
      missing+=("$pkg")
    fi
  done
fi
if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    log="$(mktemp)"
    if ! { apt-get update -qq || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "setup: warning: could not install: ${missing[*]} (continuing)" >&2
    fi
    rm -f "$log"
  else
    echo "setup: missing Debian packages; install them with: sudo apt-get install -y ${missing[*]}" >&2
  fi
fi

# b. npm dependencies.
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# c. The native binding (skips itself when up to date; prints its own line when it builds).
node scripts/build-native.mjs

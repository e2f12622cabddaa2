#!/usr/bin/env bash
# Idempotent, non-interactive installer for the uniffi binding-test toolchain
# (JVM/Kotlin + Python). Safe to re-run: every step is skipped when present.
#
# Installs:
#   - kotlinc (JVM compiler) from the npm package `kotlin-compiler`, cached in
#     $POSYANDU_TOOLS (default: $HOME/.cache/posyandu-tools), never in the repo.
#     Its lib/ also ships kotlin-stdlib.jar, kotlin-test.jar and
#     kotlinx-coroutines-core-jvm.jar (the latter only needed for async exports).
#   - JNA from Debian `libjna-java` (/usr/share/java/jna.jar; pulls libjna-jni).
#   - the npm package `@automerge/automerge` 3.x into $POSYANDU_TOOLS/js (for the
#     hostile-input test that pushes a change made by JavaScript automerge).
#   - with --chromium: Debian `chromium` (for the HTML test, later).
#
# Requires: java (17+), npm, python3, apt-get (runs as root in CI).
# It exports nothing itself. It writes $POSYANDU_TOOLS/env.sh (export lines); callers do:
#   source "${POSYANDU_TOOLS:-$HOME/.cache/posyandu-tools}/env.sh"
# which sets POSYANDU_TOOLS, KOTLIN_HOME, KOTLINC, KOTLIN_STDLIB_JAR,
# KOTLIN_TEST_JAR, KOTLINX_COROUTINES_JAR, JNA_JAR, AUTOMERGE_JS, FHIR_PYTHON, FHIR_MODELS,
# SPREADSHEET_PYTHON (Python with openpyxl, same venv) (and CHROMIUM).
#
# Usage: bash .ci/install-tools.sh [--chromium]
set -euo pipefail

KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
TOOLS="${POSYANDU_TOOLS:-$HOME/.cache/posyandu-tools}"
WITH_CHROMIUM=0

for arg in "$@"; do
  case "$arg" in
    --chromium) WITH_CHROMIUM=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install-tools: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[install-tools] $*"; }

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_install() {
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -q </dev/null
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  $SUDO apt-get install -y -q --no-install-recommends "$@" </dev/null
}

need() { command -v "$1" >/dev/null 2>&1 || { echo "install-tools: '$1' not found on PATH" >&2; exit 1; }; }
need java
need python3

mkdir -p "$TOOLS"

# --- kotlinc (npm kotlin-compiler) -------------------------------------------
KOTLIN_HOME="$TOOLS/kotlinc-$KOTLIN_VERSION"
if [ -x "$KOTLIN_HOME/bin/kotlinc" ] && [ -f "$KOTLIN_HOME/lib/kotlin-stdlib.jar" ]; then
  log "kotlinc $KOTLIN_VERSION already present at $KOTLIN_HOME (skip)"
else
  need npm
  log "fetching kotlin-compiler@$KOTLIN_VERSION from npm into $KOTLIN_HOME"
  tmp="$(mktemp -d "$TOOLS/.kotlinc-dl.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" </dev/null >/dev/null)
  tar -xzf "$tmp"/kotlin-compiler-*.tgz -C "$tmp"
  chmod +x "$tmp"/package/bin/*
  rm -rf "$KOTLIN_HOME"
  mv "$tmp/package" "$KOTLIN_HOME"
  rm -rf "$tmp"
  trap - EXIT
  log "installed kotlinc to $KOTLIN_HOME"
fi

# --- JNA (Debian libjna-java) ------------------------------------------------
JNA_JAR=/usr/share/java/jna.jar
if [ -f "$JNA_JAR" ]; then
  log "JNA already present at $JNA_JAR (skip)"
else
  apt_install libjna-java
fi
[ -f "$JNA_JAR" ] || { echo "install-tools: $JNA_JAR missing after install" >&2; exit 1; }

# --- chromium (optional) -----------------------------------------------------
CHROMIUM_BIN=""
if [ "$WITH_CHROMIUM" -eq 1 ]; then
  if command -v chromium >/dev/null 2>&1; then
    log "chromium already present at $(command -v chromium) (skip)"
  else
    apt_install chromium
  fi
fi
CHROMIUM_BIN="$(command -v chromium 2>/dev/null || true)"

# --- JavaScript automerge (npm @automerge/automerge 3.x) ----------------------
# tests/tests/hostile.rs runs a node script against it (default string type: text).
AUTOMERGE_JS_VERSION="${AUTOMERGE_JS_VERSION:-3}"
AUTOMERGE_JS="$TOOLS/js/node_modules/@automerge/automerge"
if [ -f "$AUTOMERGE_JS/package.json" ]; then
  log "@automerge/automerge already present at $AUTOMERGE_JS (skip)"
else
  need npm
  log "installing @automerge/automerge@$AUTOMERGE_JS_VERSION into $TOOLS/js"
  mkdir -p "$TOOLS/js"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/js" "@automerge/automerge@$AUTOMERGE_JS_VERSION" </dev/null >/dev/null
  [ -f "$AUTOMERGE_JS/package.json" ] || { echo "install-tools: @automerge/automerge install failed" >&2; exit 1; }
fi

# Python binding tests use only the stdlib (unittest + ctypes): nothing to install.

# --- FHIR validator (independent of our code) -----------------------------------
# fhir.resources 6.2 carries the FHIR R4 (4.0.1) models; it needs pydantic 1.9, which
# works on Python <= 3.10. Later releases carry R5 and R4B only. So: an R4 venv on a
# Python 3.10/3.9 if the machine has one (pyenv images do), else R4B models (which
# differ from R4 only in resources this project does not emit), said loudly.
FHIR_VENV="$TOOLS/fhir-validator"
fhir_models() { "$FHIR_VENV/bin/python" -c "import fhir.resources as f; print('R4' if f.__fhir_version__ == '4.0.1' else 'R4B')" 2>/dev/null; }
if [ -n "$(fhir_models)" ]; then
  log "FHIR validator ($(fhir_models) models) already present in $FHIR_VENV (skip)"
else
  PY_R4=""
  for c in python3.10 python3.9 "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python3.10 2>/dev/null | tail -1)" \
           "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9.*/bin/python3.9 2>/dev/null | tail -1)"; do
    if [ -n "$c" ] && "$c" -c "import sys, venv; sys.exit(sys.version_info[:2] > (3, 10))" 2>/dev/null; then PY_R4="$c"; break; fi
  done
  rm -rf "$FHIR_VENV"
  if [ -n "$PY_R4" ]; then
    log "installing fhir.resources 6.2 (FHIR R4 4.0.1) into $FHIR_VENV with $PY_R4"
    "$PY_R4" -m venv "$FHIR_VENV"
    "$FHIR_VENV/bin/pip" install -q --disable-pip-version-check "fhir.resources==6.2.2" "pydantic>=1.8,<1.10" </dev/null
  else
    log "WARNING: no Python <= 3.10 found: FHIR bundles will be validated with R4B models (fhir.resources 8)"
    python3 -m venv "$FHIR_VENV"
    "$FHIR_VENV/bin/pip" install -q --disable-pip-version-check "fhir.resources>=8,<9" </dev/null
  fi
  [ -n "$(fhir_models)" ] || { echo "install-tools: FHIR validator install failed" >&2; exit 1; }
fi

# --- spreadsheet parser (CSV formula-injection test) ----------------------------
# openpyxl in the same venv: the test loads the relay's CSV into a workbook the way
# Excel imports it and asserts that no cell became a formula.
if "$FHIR_VENV/bin/python" -c "import openpyxl" 2>/dev/null; then
  log "openpyxl already present in $FHIR_VENV (skip)"
else
  log "installing openpyxl into $FHIR_VENV"
  "$FHIR_VENV/bin/pip" install -q --disable-pip-version-check "openpyxl>=3.1,<4" </dev/null
  "$FHIR_VENV/bin/python" -c "import openpyxl" || { echo "install-tools: openpyxl install failed" >&2; exit 1; }
fi

# --- env file ----------------------------------------------------------------
ENV_FILE="$TOOLS/env.sh"
{
  echo "# generated by .ci/install-tools.sh; source me"
  echo "POSYANDU_TOOLS='$TOOLS'"
  echo "KOTLIN_HOME='$KOTLIN_HOME'"
  echo "KOTLINC='$KOTLIN_HOME/bin/kotlinc'"
  echo "KOTLIN_STDLIB_JAR='$KOTLIN_HOME/lib/kotlin-stdlib.jar'"
  echo "KOTLIN_TEST_JAR='$KOTLIN_HOME/lib/kotlin-test.jar'"
  echo "KOTLINX_COROUTINES_JAR='$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar'"
  echo "JNA_JAR='$JNA_JAR'"
  echo "AUTOMERGE_JS='$AUTOMERGE_JS'"
  echo "FHIR_PYTHON='$FHIR_VENV/bin/python'"
  echo "FHIR_MODELS='$(fhir_models)'"
  echo "SPREADSHEET_PYTHON='$FHIR_VENV/bin/python'"
  if [ -n "$CHROMIUM_BIN" ]; then echo "CHROMIUM='$CHROMIUM_BIN'"; fi
} | sed -e 's/^\([A-Z_0-9]*=\)/export \1/' > "$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
log "wrote $ENV_FILE"
log "versions: kotlinc $(cat "$KOTLIN_HOME/build.txt" 2>/dev/null || echo '?'); JNA $(basename "$(readlink -f "$JNA_JAR")"); $(python3 --version)"

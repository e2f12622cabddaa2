#!/usr/bin/env bash
# Build the uniffi cdylib, generate Kotlin + Python bindings, and run the
# foreign-language binding tests on the host JVM (via JNA) and CPython.
#
#   bindings/run-jvm-tests.sh [--skip-build] [--kotlin-only | --python-only]
#
# Tests picked up:
#   bindings/tests/kotlin/*.kt      compiled together with the generated code;
#                                   every file with a top-level `fun main(` is run
#                                   as its own program (main class = <File>Kt,
#                                   honouring `package` and @file:JvmName). A
#                                   program fails the suite by exiting non-zero
#                                   (uncaught exception, exitProcess(1), failed
#                                   kotlin.test assert*). `assert()` works (-ea).
#   bindings/tests/python/test_*.py unittest.TestCase classes (stdlib only).
# A language with no tests is an error (never a silent pass), unless the other
# language was selected with --kotlin-only / --python-only.
#
# Parameters (environment):
#   BINDINGS_PACKAGE  cargo package       (default: posyandu-bindings)
#   BINDINGS_LIB      lib name            (default: posyandu_bindings -> libposyandu_bindings.so)
#   WORKSPACE_DIR     cargo workspace     (default: the repo containing this script)
#   CARGO_TARGET_DIR  target dir          (default: $WORKSPACE_DIR/target)
#   BINDINGS_TESTS_DIR tests root         (default: $WORKSPACE_DIR/bindings/tests)
#   POSYANDU_TOOLS    tool cache          (default: $HOME/.cache/posyandu-tools)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKSPACE_DIR="${WORKSPACE_DIR:-$(cd "$SCRIPT_DIR/.." && pwd)}"
BINDINGS_PACKAGE="${BINDINGS_PACKAGE:-posyandu-bindings}"
BINDINGS_LIB="${BINDINGS_LIB:-posyandu_bindings}"
TARGET_DIR="${CARGO_TARGET_DIR:-$WORKSPACE_DIR/target}"
TESTS_DIR="${BINDINGS_TESTS_DIR:-$WORKSPACE_DIR/bindings/tests}"
TOOLS="${POSYANDU_TOOLS:-$HOME/.cache/posyandu-tools}"

RUN_KOTLIN=1
RUN_PYTHON=1
SKIP_BUILD=0
for arg in "$@"; do
  case "$arg" in
    --skip-build) SKIP_BUILD=1 ;;
    --kotlin-only) RUN_PYTHON=0 ;;
    --python-only) RUN_KOTLIN=0 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run-jvm-tests: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[run-jvm-tests] $*"; }
die() { echo "[run-jvm-tests] ERROR: $*" >&2; exit 1; }

# --- discover tests first: fail fast and clearly if there are none ----------
shopt -s nullglob
KT_TESTS=()
PY_TESTS=()
if [ "$RUN_KOTLIN" -eq 1 ]; then
  KT_TESTS=("$TESTS_DIR"/kotlin/*.kt)
  [ "${#KT_TESTS[@]}" -gt 0 ] || die "no Kotlin tests found in $TESTS_DIR/kotlin/*.kt (use --python-only to skip Kotlin)"
fi
if [ "$RUN_PYTHON" -eq 1 ]; then
  PY_TESTS=("$TESTS_DIR"/python/test_*.py)
  [ "${#PY_TESTS[@]}" -gt 0 ] || die "no Python tests found in $TESTS_DIR/python/test_*.py (use --kotlin-only to skip Python)"
fi
shopt -u nullglob

# --- tools ------------------------------------------------------------------
if [ "$RUN_KOTLIN" -eq 1 ]; then
  if [ ! -f "$TOOLS/env.sh" ]; then
    log "$TOOLS/env.sh missing: running .ci/install-tools.sh"
    POSYANDU_TOOLS="$TOOLS" bash "$WORKSPACE_DIR/.ci/install-tools.sh"
  fi
  # shellcheck disable=SC1091
  source "$TOOLS/env.sh"
  for f in "$KOTLINC" "$JNA_JAR" "$KOTLIN_STDLIB_JAR" "$KOTLIN_TEST_JAR"; do
    [ -e "$f" ] || die "$f missing: run .ci/install-tools.sh"
  done
fi

# --- build ------------------------------------------------------------------
cd "$WORKSPACE_DIR"
export CARGO_TARGET_DIR="$TARGET_DIR"
SO="$TARGET_DIR/release/lib$BINDINGS_LIB.so"
BINDGEN="$TARGET_DIR/release/uniffi-bindgen"
if [ "$SKIP_BUILD" -eq 0 ]; then
  log "cargo build --release -p $BINDINGS_PACKAGE"
  t0=$SECONDS
  cargo build --release -p "$BINDINGS_PACKAGE" --lib --bin uniffi-bindgen
  log "build took $((SECONDS - t0))s"
fi
[ -f "$SO" ] || die "$SO not found (is BINDINGS_LIB=$BINDINGS_LIB right? crate-type must include cdylib)"
[ -x "$BINDGEN" ] || die "$BINDGEN not found (package must have a [[bin]] uniffi-bindgen)"

# --- generate ---------------------------------------------------------------
OUT="$TARGET_DIR/bindings-tests"
rm -rf "$OUT"
mkdir -p "$OUT"
for lang in kotlin python; do
  if [ "$lang" = kotlin ] && [ "$RUN_KOTLIN" -eq 0 ]; then continue; fi
  if [ "$lang" = python ] && [ "$RUN_PYTHON" -eq 0 ]; then continue; fi
  log "uniffi-bindgen generate $SO --language $lang --out-dir $OUT/$lang"
  "$BINDGEN" generate "$SO" --language "$lang" --no-format --out-dir "$OUT/$lang"
done

SUITES_PASSED=0
SUITES_FAILED=0
FAILED_NAMES=()
record() { # name rc
  if [ "$2" -eq 0 ]; then SUITES_PASSED=$((SUITES_PASSED + 1)); log "PASS $1"
  else SUITES_FAILED=$((SUITES_FAILED + 1)); FAILED_NAMES+=("$1"); log "FAIL $1 (exit $2)"; fi
}

# --- Kotlin -----------------------------------------------------------------
if [ "$RUN_KOTLIN" -eq 1 ]; then
  mapfile -t GEN_KT < <(find "$OUT/kotlin" -name '*.kt' | sort)
  [ "${#GEN_KT[@]}" -gt 0 ] || die "uniffi-bindgen produced no Kotlin (does the crate call uniffi::setup_scaffolding!() and export anything?)"
  CP="$JNA_JAR:$KOTLIN_TEST_JAR"
  # Only async exports make generated code import kotlinx.coroutines; the jar ships in kotlinc's lib/.
  if grep -qs 'kotlinx.coroutines' "${GEN_KT[@]}"; then CP="$CP:$KOTLINX_COROUTINES_JAR"; fi
  JAR="$OUT/jvm/binding-tests.jar"
  mkdir -p "$OUT/jvm"
  log "kotlinc: ${#GEN_KT[@]} generated + ${#KT_TESTS[@]} test file(s) -> $JAR"
  t0=$SECONDS
  "$KOTLINC" -nowarn -cp "$CP" -d "$JAR" "${GEN_KT[@]}" "${KT_TESTS[@]}"
  log "kotlinc took $((SECONDS - t0))s"

  MAINS=()
  for f in "${KT_TESTS[@]}"; do
    grep -qE '^\s*fun\s+main\s*\(' "$f" || continue
    pkg="$(sed -nE 's/^\s*package\s+([A-Za-z0-9_.]+).*/\1/p' "$f" | head -1)"
    cls="$(sed -nE 's/^\s*@file:JvmName\("([^"]+)"\).*/\1/p' "$f" | head -1)"
    if [ -z "$cls" ]; then
      base="$(basename "$f" .kt)"
      cls="${base^}Kt"
    fi
    MAINS+=("${pkg:+$pkg.}$cls")
  done
  [ "${#MAINS[@]}" -gt 0 ] || die "no Kotlin test file in $TESTS_DIR/kotlin has a top-level 'fun main('"

  for m in "${MAINS[@]}"; do
    log "java $m"
    rc=0
    java -ea -cp "$JAR:$CP:$KOTLIN_STDLIB_JAR" \
      -Djna.library.path="$(dirname "$SO")" \
      -Duniffi.component."$BINDINGS_LIB".libraryOverride="$SO" \
      "$m" </dev/null || rc=$?
    record "kotlin:$m" "$rc"
  done
fi

# --- Python -----------------------------------------------------------------
if [ "$RUN_PYTHON" -eq 1 ]; then
  # The generated module loads lib<name>.so from its own directory.
  cp "$SO" "$OUT/python/"
  log "python unittest: ${#PY_TESTS[@]} file(s) in $TESTS_DIR/python"
  rc=0
  PYTHONPATH="$OUT/python:$TESTS_DIR/python${PYTHONPATH:+:$PYTHONPATH}" \
    python3 - "$TESTS_DIR/python" <<'PY' || rc=$?
import sys, unittest
start = sys.argv[1]
suite = unittest.defaultTestLoader.discover(start, pattern="test_*.py", top_level_dir=start)
result = unittest.TextTestRunner(verbosity=2).run(suite)
bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
if result.testsRun == 0:
    print("python: no unittest tests collected (tests must be unittest.TestCase methods)", file=sys.stderr)
    sys.exit(1)
print(f"python: {result.testsRun - bad - len(result.skipped)} passed, {bad} failed, {len(result.skipped)} skipped")
sys.exit(0 if result.wasSuccessful() else 1)
PY
  record "python:unittest" "$rc"
fi

echo "bindings: $SUITES_PASSED passed, $SUITES_FAILED failed"
if [ "$SUITES_FAILED" -ne 0 ]; then
  log "failed suites: ${FAILED_NAMES[*]}"
  exit 1
fi

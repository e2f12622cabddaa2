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
#   POSYANDU_GOLDEN_DIR golden vectors    (default: $WORKSPACE_DIR/tests/golden)
#   POSYANDU_RELAY_BIN relay binary for the sync tests (default: $CARGO_TARGET_DIR/release/
#                     posyandu-relay if it exists). Unset and absent: sync tests are SKIPPED.
#                     Set: the script registers a posyandu, 2 kader and 2 devices in a temp
#                     DB, starts the relay on a free port, exports POSYANDU_RELAY_URL,
#                     POSYANDU_TOKEN_A/B, POSYANDU_POSYANDU_ID, POSYANDU_KADER_A/B to the
#                     tests and kills it at the end; if it cannot start, that is a failure.
#   POSYANDU_RELAY_URL with POSYANDU_TOKEN_A/B (+ POSYANDU_POSYANDU_ID, POSYANDU_KADER_A/B):
#                     use an already running relay instead (nothing is started).
#
# Swift bindings are generated too (generation only, not compiled) into
# $CARGO_TARGET_DIR/bindings-tests/swift.
# The last line is `bindings: N passed, N failed` counting test cases (each Kotlin
# test(...) block and each Python test method; skipped ones are in neither count).
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
# Golden vectors shared with the Rust tests (tests/golden/<area>.json).
export POSYANDU_GOLDEN_DIR="${POSYANDU_GOLDEN_DIR:-$WORKSPACE_DIR/tests/golden}"
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
for lang in kotlin python swift; do
  if [ "$lang" = kotlin ] && [ "$RUN_KOTLIN" -eq 0 ]; then continue; fi
  if [ "$lang" = python ] && [ "$RUN_PYTHON" -eq 0 ]; then continue; fi
  log "uniffi-bindgen generate $SO --language $lang --out-dir $OUT/$lang"
  "$BINDGEN" generate "$SO" --language "$lang" --no-format --out-dir "$OUT/$lang"
done

[ -f "$OUT/swift/PosyanduSync.swift" ] || ls "$OUT"/swift/*.swift >/dev/null 2>&1 || die "uniffi-bindgen produced no Swift"

SUITES_PASSED=0
SUITES_FAILED=0
CASES_PASSED=0
CASES_FAILED=0
CASES_SKIPPED=0
FAILED_NAMES=()
record() { # name rc [passed failed skipped]  (case counts parsed from the suite's summary line)
  local p="${3:-}" f="${4:-}" k="${5:-0}"
  if [ -z "$p" ]; then # no summary line (crash before it): count the suite as one case
    if [ "$2" -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
  fi
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # non-zero exit is always a failure
  CASES_PASSED=$((CASES_PASSED + p)); CASES_FAILED=$((CASES_FAILED + f)); CASES_SKIPPED=$((CASES_SKIPPED + k))
  if [ "$2" -eq 0 ]; then SUITES_PASSED=$((SUITES_PASSED + 1)); log "PASS $1 ($p passed, $k skipped)"
  else SUITES_FAILED=$((SUITES_FAILED + 1)); FAILED_NAMES+=("$1"); log "FAIL $1 (exit $2; $p passed, $f failed)"; fi
}
# Reads `<lang>: N passed, N failed, N skipped` from a log into COUNTS=(p f k).
counts_from() { # lang logfile
  local line
  line="$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -1 || true)"
  if [ -z "$line" ]; then COUNTS=("" "" 0); return; fi
  # shellcheck disable=SC2001
  COUNTS=($(echo "$line" | sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/'))
  [ "${#COUNTS[@]}" -ge 3 ] || COUNTS+=(0)
}

# --- relay for the sync tests -------------------------------------------------
# shellcheck source=../scripts/test-relay.sh
source "$WORKSPACE_DIR/scripts/test-relay.sh"
cleanup() { stop_test_relay; }
trap cleanup EXIT
if [ -z "${POSYANDU_RELAY_BIN:-}" ] && [ -x "$TARGET_DIR/release/posyandu-relay" ]; then
  POSYANDU_RELAY_BIN="$TARGET_DIR/release/posyandu-relay"
fi
RELAY_SETUP_FAILED=0
if [ -n "${POSYANDU_RELAY_URL:-}" ]; then
  log "sync tests use the running relay at $POSYANDU_RELAY_URL"
  export POSYANDU_RELAY_URL POSYANDU_TOKEN_A POSYANDU_TOKEN_B
elif [ -n "${POSYANDU_RELAY_BIN:-}" ]; then
  export POSYANDU_RELAY_BIN
  if ! start_test_relay "$POSYANDU_RELAY_BIN"; then
    RELAY_SETUP_FAILED=1
    log "could not start the relay $POSYANDU_RELAY_BIN: the sync tests will fail"
  fi
else
  log "POSYANDU_RELAY_BIN unset and no $TARGET_DIR/release/posyandu-relay: sync tests are SKIPPED"
fi
if [ "$RELAY_SETUP_FAILED" -eq 1 ]; then record "relay:setup" 1 0 1 0; fi

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
    t0=$SECONDS
    java -ea -cp "$JAR:$CP:$KOTLIN_STDLIB_JAR" \
      -Djna.library.path="$(dirname "$SO")" \
      -Duniffi.component."$BINDINGS_LIB".libraryOverride="$SO" \
      "$m" </dev/null 2>&1 | tee "$OUT/jvm/$m.log" || rc=$?
    log "java $m took $((SECONDS - t0))s"
    counts_from kotlin "$OUT/jvm/$m.log"
    record "kotlin:$m" "$rc" "${COUNTS[@]}"
  done
fi

# --- Python -----------------------------------------------------------------
if [ "$RUN_PYTHON" -eq 1 ]; then
  # The relay binds each device token to the first phone store that uses it, and the
  # Kotlin tests' stores already used tokens A and B: the Python tests get a fresh relay.
  if [ "$RUN_KOTLIN" -eq 1 ] && [ -n "$RELAY_PID" ]; then
    stop_test_relay
    if ! start_test_relay "$POSYANDU_RELAY_BIN"; then
      record "relay:setup" 1 0 1 0
      log "could not restart the relay $POSYANDU_RELAY_BIN: the Python sync tests will fail"
    fi
  fi
  # The generated module loads lib<name>.so from its own directory.
  cp "$SO" "$OUT/python/"
  log "python unittest: ${#PY_TESTS[@]} file(s) in $TESTS_DIR/python"
  rc=0
  t0=$SECONDS
  PYTHONPATH="$OUT/python:$TESTS_DIR/python${PYTHONPATH:+:$PYTHONPATH}" \
    python3 - "$TESTS_DIR/python" <<'PY' 2>&1 | tee "$OUT/python/unittest.log" || rc=$?
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
  log "python took $((SECONDS - t0))s"
  counts_from python "$OUT/python/unittest.log"
  record "python:unittest" "$rc" "${COUNTS[@]}"
fi

log "suites: $SUITES_PASSED passed, $SUITES_FAILED failed; cases skipped: $CASES_SKIPPED"
echo "bindings: $CASES_PASSED passed, $CASES_FAILED failed"
if [ "$SUITES_FAILED" -ne 0 ]; then
  log "failed suites: ${FAILED_NAMES[*]}"
  exit 1
fi

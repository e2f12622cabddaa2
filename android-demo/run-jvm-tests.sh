#!/usr/bin/env bash
# JVM tests of the kader app's view models (android-demo/logic) against the REAL
# Rust core through the generated uniffi Kotlin bindings (JNA + host cdylib).
#
#   android-demo/run-jvm-tests.sh [--skip-build]
#
# 1. Bindings: target/release/libposyandu_bindings.so + uniffi-bindgen. Built with
#    `cargo build --release -p posyandu-bindings` ONLY if missing (or always with
#    --rebuild); never with --skip-build (then they must exist).
# 2. Kotlin generated into android-demo/build/jvm-tests/gen (regenerated when the .so
#    is newer than it, or missing).
# 3. kotlinc: generated bindings + logic/src/main + logic/src/test -> one jar.
# 4. java: every logic/src/test file with a top-level `fun main(` (main class
#    <package>.<@file:JvmName or FileKt>). Each prints `android-demo: N passed,
#    N failed, N skipped`; a program exiting non-zero is a failure.
# Sync test: real relay when POSYANDU_RELAY_URL + POSYANDU_TOKEN_A/B (+ optional
# POSYANDU_POSYANDU_ID, POSYANDU_KADER_A/B) are set; skipped otherwise.
# Last line: `android-demo: N passed, N failed` (test cases); exit 1 on any failure
# or if no tests are found.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKSPACE_DIR="${WORKSPACE_DIR:-$(cd "$HERE/.." && pwd)}"
TARGET_DIR="${CARGO_TARGET_DIR:-$WORKSPACE_DIR/target}"
TOOLS="${POSYANDU_TOOLS:-$HOME/.cache/posyandu-tools}"
LIB=posyandu_bindings
SO="$TARGET_DIR/release/lib$LIB.so"
BINDGEN="$TARGET_DIR/release/uniffi-bindgen"
OUT="$HERE/build/jvm-tests"

SKIP_BUILD=0
REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --skip-build) SKIP_BUILD=1 ;;
    --rebuild) REBUILD=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "android-demo/run-jvm-tests: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
log() { echo "[android-demo] $*"; }
die() { echo "[android-demo] ERROR: $*" >&2; echo "android-demo: 0 passed, 1 failed"; exit 1; }

# --- tests first: fail loudly when there are none -------------------------------
mapfile -t MAIN_KT < <(find "$HERE/logic/src/main" -name '*.kt' | sort)
mapfile -t TEST_KT < <(find "$HERE/logic/src/test" -name '*.kt' 2>/dev/null | sort)
[ "${#MAIN_KT[@]}" -gt 0 ] || die "no sources in logic/src/main"
[ "${#TEST_KT[@]}" -gt 0 ] || die "no test sources in logic/src/test"
MAINS=()
for f in "${TEST_KT[@]}"; do
  grep -qE '^\s*fun\s+main\s*\(' "$f" || continue
  pkg="$(sed -nE 's/^\s*package\s+([A-Za-z0-9_.]+).*/\1/p' "$f" | head -1)"
  cls="$(sed -nE 's/^\s*@file:JvmName\("([^"]+)"\).*/\1/p' "$f" | head -1)"
  if [ -z "$cls" ]; then base="$(basename "$f" .kt)"; cls="${base^}Kt"; fi
  MAINS+=("${pkg:+$pkg.}$cls")
done
[ "${#MAINS[@]}" -gt 0 ] || die "no test program (top-level 'fun main(') in logic/src/test"

# --- tools -----------------------------------------------------------------------
if [ ! -f "$TOOLS/env.sh" ]; then
  log "$TOOLS/env.sh missing: running .ci/install-tools.sh"
  POSYANDU_TOOLS="$TOOLS" bash "$WORKSPACE_DIR/.ci/install-tools.sh"
fi
# shellcheck disable=SC1091
source "$TOOLS/env.sh"
for f in "$KOTLINC" "$JNA_JAR" "$KOTLIN_STDLIB_JAR" "$KOTLIN_TEST_JAR" "$KOTLINX_COROUTINES_JAR"; do
  [ -e "$f" ] || die "$f missing: run .ci/install-tools.sh"
done

# --- bindings (build only if needed) -----------------------------------------------
T0=$SECONDS
if [ "$SKIP_BUILD" -eq 0 ] && { [ "$REBUILD" -eq 1 ] || [ ! -f "$SO" ] || [ ! -x "$BINDGEN" ]; }; then
  log "cargo build --release -p posyandu-bindings"
  t0=$SECONDS
  (cd "$WORKSPACE_DIR" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -p posyandu-bindings --lib --bin uniffi-bindgen)
  log "build took $((SECONDS - t0))s"
fi
[ -f "$SO" ] || die "$SO not found (run without --skip-build)"
[ -x "$BINDGEN" ] || die "$BINDGEN not found (run without --skip-build)"

GEN="$OUT/gen"
STAMP="$GEN/.from-so"
if [ ! -f "$STAMP" ] || [ "$SO" -nt "$STAMP" ] || ! find "$GEN" -name '*.kt' | grep -q .; then
  log "uniffi-bindgen generate $SO --language kotlin -> $GEN"
  rm -rf "$GEN"; mkdir -p "$GEN"
  "$BINDGEN" generate "$SO" --language kotlin --no-format --out-dir "$GEN"
  touch "$STAMP"
fi
mapfile -t GEN_KT < <(find "$GEN" -name '*.kt' | sort)
[ "${#GEN_KT[@]}" -gt 0 ] || die "uniffi-bindgen produced no Kotlin"

# --- compile -----------------------------------------------------------------------
CP="$JNA_JAR:$KOTLINX_COROUTINES_JAR:$KOTLIN_TEST_JAR"
JAR="$OUT/android-demo-tests.jar"
mkdir -p "$OUT"
log "kotlinc: ${#GEN_KT[@]} generated + ${#MAIN_KT[@]} logic + ${#TEST_KT[@]} test file(s)"
t0=$SECONDS
if ! "$KOTLINC" -nowarn -jvm-target 17 -cp "$CP" -d "$JAR" "${GEN_KT[@]}" "${MAIN_KT[@]}" "${TEST_KT[@]}"; then
  die "kotlinc failed"
fi
log "kotlinc took $((SECONDS - t0))s"

# --- relay for the real-sync case (unless the caller gave one) -------------------
# shellcheck source=../scripts/test-relay.sh
source "$WORKSPACE_DIR/scripts/test-relay.sh"
trap stop_test_relay EXIT
RELAY_BIN="${POSYANDU_RELAY_BIN:-$TARGET_DIR/release/posyandu-relay}"
if [ -z "${POSYANDU_RELAY_URL:-}" ] && [ -x "$RELAY_BIN" ]; then
  start_test_relay "$RELAY_BIN" || die "could not start the relay $RELAY_BIN for the sync case"
fi

# --- run -------------------------------------------------------------------------
PASSED=0; FAILED=0; SKIPPED=0; BAD=()
for m in "${MAINS[@]}"; do
  log "java $m"
  rc=0; t0=$SECONDS
  java -ea -cp "$JAR:$CP:$KOTLIN_STDLIB_JAR" \
    -Djna.library.path="$(dirname "$SO")" \
    -Duniffi.component.$LIB.libraryOverride="$SO" \
    "$m" </dev/null 2>&1 | tee "$OUT/$m.log" || rc=$?
  log "java $m took $((SECONDS - t0))s (exit $rc)"
  line="$(grep -E '^android-demo: [0-9]+ passed, [0-9]+ failed' "$OUT/$m.log" | tail -1 || true)"
  if [ -n "$line" ]; then
    p="$(echo "$line" | sed -E 's/^android-demo: ([0-9]+) passed.*/\1/')"
    f="$(echo "$line" | sed -E 's/^android-demo: [0-9]+ passed, ([0-9]+) failed.*/\1/')"
    k="$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')"
  else
    p=0; f=0; k=0 # crashed before its summary
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + ${k:-0}))
  [ "$rc" -eq 0 ] || BAD+=("$m")
done
[ $((PASSED + FAILED)) -gt 0 ] || { echo "android-demo: 0 passed, 1 failed"; exit 1; }
log "total $((SECONDS - T0))s; skipped: $SKIPPED${BAD:+; failed programs: ${BAD[*]}}"
echo "android-demo: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "${#BAD[@]}" -eq 0 ]

#!/usr/bin/env bash
# Runs every test of the project on a fresh machine (Rust toolchain, Java 17,
# Node/npm, Python and a local PostgreSQL): installs the JVM/Python/browser test
# tools it needs (idempotent), builds the workspace once (release profile, one
# target dir), then runs
#   1. cargo tests of all crates (unit, property, crash, relay, end-to-end),
#   2. the uniffi bindings tests on the JVM (Kotlin) and in Python,
#   3. the android-demo logic tests on the JVM,
# and ends with one summary line "all: N passed, N failed".
#
# Usage: bash scripts/test-all.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export CARGO_TERM_COLOR=never
LOG_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/test-logs"
mkdir -p "$LOG_DIR"
passed=0
failed=0
step() { echo; echo "==> $*"; }

step "installing test tools (skipped when present)"
bash .ci/install-tools.sh --chromium || { echo "tool install failed"; exit 1; }
# shellcheck disable=SC1091
source "${POSYANDU_TOOLS:-$HOME/.cache/posyandu-tools}/env.sh"

step "PostgreSQL on 127.0.0.1:5432"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || echo "warning: PostgreSQL not reachable; PostgreSQL tests will fail"
export POSYANDU_TEST_PG="${POSYANDU_TEST_PG:-host=127.0.0.1 port=5432 user=postgres dbname=test}"

step "cargo build (release, all targets)"
cargo build --release --workspace --all-targets 2>&1 | tail -3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed"; echo "all: 0 passed, 1 failed"; exit 1; }

step "cargo test"
cargo test --release --workspace --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo-test.log" | grep -E "^(test result|     Running|failures:|    [a-z_:]+$)|panicked|FAILED"
cargo_status=${PIPESTATUS[0]}
p=$(awk '/^test result/ { for (i = 1; i <= NF; i++) if ($i ~ /^passed;?$/) s += $(i-1) } END { print s + 0 }' "$LOG_DIR/cargo-test.log")
f=$(awk '/^test result/ { for (i = 1; i <= NF; i++) if ($i ~ /^failed;?$/) s += $(i-1) } END { print s + 0 }' "$LOG_DIR/cargo-test.log")
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
if [ "$cargo_status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi

step "bindings: Kotlin (JVM) and Python"
bash bindings/run-jvm-tests.sh --skip-build 2>&1 | tee "$LOG_DIR/bindings.log"
b_status=${PIPESTATUS[0]}
line=$(grep -E "^bindings: [0-9]+ passed, [0-9]+ failed" "$LOG_DIR/bindings.log" | tail -1)
bp=$(echo "$line" | sed -E 's/bindings: ([0-9]+) passed.*/\1/'); bf=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
passed=$((passed + ${bp:-0})); failed=$((failed + ${bf:-0}))
if [ "$b_status" -ne 0 ] && [ "${bf:-0}" -eq 0 ]; then failed=$((failed + 1)); fi

if [ -f android-demo/run-jvm-tests.sh ]; then
  step "android-demo: view-model tests on the JVM"
  bash android-demo/run-jvm-tests.sh 2>&1 | tee "$LOG_DIR/android-demo.log"
  a_status=${PIPESTATUS[0]}
  line=$(grep -E "^android-demo: [0-9]+ passed, [0-9]+ failed" "$LOG_DIR/android-demo.log" | tail -1)
  ap=$(echo "$line" | sed -E 's/android-demo: ([0-9]+) passed.*/\1/'); af=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  passed=$((passed + ${ap:-0})); failed=$((failed + ${af:-0}))
  if [ "$a_status" -ne 0 ] && [ "${af:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
fi

echo
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

# Starts a throwaway relay for the JVM/Python sync tests, shared by
# bindings/run-jvm-tests.sh and android-demo/run-jvm-tests.sh (sourced).
# `start_test_relay BIN` registers one Posyandu, two kader and two devices through the
# relay's admin CLI (server/src/main.rs: `admin --db F add-posyandu|add-kader|add-device`,
# `serve --listen --db`; if its flags change, adjust only here), serves on a free
# port and exports POSYANDU_RELAY_URL, POSYANDU_TOKEN_A/B, POSYANDU_POSYANDU_ID,
# POSYANDU_KADER_A/B. `stop_test_relay` stops it and removes its files.
RELAY_PID=""
RELAY_TMP=""
stop_test_relay() {
  if [ -n "$RELAY_PID" ]; then kill "$RELAY_PID" 2>/dev/null || true; wait "$RELAY_PID" 2>/dev/null || true; fi
  if [ -n "$RELAY_TMP" ]; then rm -rf "$RELAY_TMP"; fi
  RELAY_PID=""; RELAY_TMP=""
}
start_test_relay() {
  local bin="$1" db port out
  RELAY_TMP="$(mktemp -d "${TMPDIR:-/tmp}/posyandu-relay.XXXXXX")"
  db="$RELAY_TMP/relay.db"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export POSYANDU_POSYANDU_ID="${POSYANDU_POSYANDU_ID:-P-3201010001-01}"
  export POSYANDU_KADER_A="${POSYANDU_KADER_A:-kader-a}" POSYANDU_KADER_B="${POSYANDU_KADER_B:-kader-b}"
  "$bin" admin --db "$db" add-posyandu --id "$POSYANDU_POSYANDU_ID" --name "Posyandu Uji" || return 1
  "$bin" admin --db "$db" add-kader --id "$POSYANDU_KADER_A" --name "Kader A" --posyandu "$POSYANDU_POSYANDU_ID" || return 1
  "$bin" admin --db "$db" add-kader --id "$POSYANDU_KADER_B" --name "Kader B" --posyandu "$POSYANDU_POSYANDU_ID" || return 1
  # add-device prints the device token on stdout (last line; the notice goes to stderr).
  out="$("$bin" admin --db "$db" add-device --kader "$POSYANDU_KADER_A" --device device-a)" || return 1
  export POSYANDU_TOKEN_A="$(printf '%s\n' "$out" | tail -1 | tr -d '[:space:]')"
  out="$("$bin" admin --db "$db" add-device --kader "$POSYANDU_KADER_B" --device device-b)" || return 1
  export POSYANDU_TOKEN_B="$(printf '%s\n' "$out" | tail -1 | tr -d '[:space:]')"
  [ -n "$POSYANDU_TOKEN_A" ] && [ -n "$POSYANDU_TOKEN_B" ] || return 1
  "$bin" serve --listen "127.0.0.1:$port" --db "$db" >"$RELAY_TMP/relay.log" 2>&1 </dev/null &
  RELAY_PID=$!
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      export POSYANDU_RELAY_URL="http://127.0.0.1:$port"
      echo "[test-relay] relay $bin up at $POSYANDU_RELAY_URL (pid $RELAY_PID, db $db)"
      return 0
    fi
    kill -0 "$RELAY_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "[test-relay] relay did not come up; its log:"; cat "$RELAY_TMP/relay.log" >&2 || true
  return 1
}

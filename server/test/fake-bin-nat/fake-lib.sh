# Shared helpers for the fake node tools in this directory. POSIX sh builtins only (no cat, dirname, ls):
# tests may run with a PATH that holds nothing but these fakes.
# Contract: FAKE_STATE_DIR (required) receives calls.log (one "NAME ARGS..." line per call) and per-spec
# call counters. An output spec is a file (printed) or a directory (its Nth file, sorted, at the Nth call;
# the last file once they run out).

fake_log() {
  printf '%s %s\n' "${0##*/}" "$*" >>"$FAKE_STATE_DIR/calls.log"
}

# fake_emit FILE: print a file's lines.
fake_emit() {
  while IFS= read -r fake_line || [ -n "$fake_line" ]; do
    printf '%s\n' "$fake_line"
  done <"$1"
}

# fake_pick SPEC KEY: the file a spec resolves to at this call (KEY names its call counter).
fake_pick() {
  if [ ! -d "$1" ]; then
    printf '%s\n' "$1"
    return
  fi
  fake_n=0
  if [ -f "$FAKE_STATE_DIR/$2.n" ]; then read -r fake_n <"$FAKE_STATE_DIR/$2.n"; fi
  fake_i=0
  fake_last=
  for fake_f in "$1"/*; do
    [ -f "$fake_f" ] || continue
    fake_last=$fake_f
    [ "$fake_i" -eq "$fake_n" ] && break
    fake_i=$((fake_i + 1))
  done
  printf '%s\n' $((fake_n + 1)) >"$FAKE_STATE_DIR/$2.n"
  printf '%s\n' "$fake_last"
}

# fake_output SPEC KEY: print what a spec resolves to at this call (nothing when SPEC is empty).
fake_output() {
  [ -n "$1" ] || return 0
  fake_file=$(fake_pick "$1" "$2")
  if [ ! -f "$fake_file" ]; then
    printf 'fake %s: no such fixture: %s\n' "${0##*/}" "$fake_file" >&2
    exit 99
  fi
  fake_emit "$fake_file"
}

# fake_fail MESSAGE [CODE]: fail like the real tool, with MESSAGE on stderr.
fake_fail() {
  printf '%s\n' "$1" >&2
  exit "${2:-1}"
}

# Sourced before the README's "Running for real" blocks by test/e2e/readme-running-for-real.test.ts.
# CI has no systemd, so `systemctl` and `journalctl` (also behind `sudo`) are stand-ins: they start a
# unit as /etc/systemd/system/<unit>.service says (its ExecStart, as its User and Group, with its
# StateDirectory made with StateDirectoryMode, from /, with a clean environment) and show its output.
# RT_RUN (a temp dir) gets <unit>.log, <unit>.pid; the test kills those pids when it ends.
# RT_READY_<unit> is the log text that means "started": a person types the next command later than
# a script does, so the stand-in waits for it as a person would.

rt_key() { sed -n "s/^$2=//p" "/etc/systemd/system/$1.service" | tail -n1; }

rt_start() {
  local unit=$1 file="/etc/systemd/system/$1.service" user group exec state mode ready pid
  [ -f "$file" ] || { echo "systemctl stand-in: $file is not installed" >&2; return 5; }
  user=$(rt_key "$unit" User)
  group=$(rt_key "$unit" Group)
  exec=$(rt_key "$unit" ExecStart)
  state=$(rt_key "$unit" StateDirectory)
  mode=$(rt_key "$unit" StateDirectoryMode)
  if [ -n "$state" ]; then install -d -o "$user" -g "${group:-$user}" -m "${mode:-0755}" "/var/lib/$state"; fi
  # setsid and setpriv exec in place, so $! is the program's own pid.
  # shellcheck disable=SC2086 # ExecStart is split on spaces, as systemd does for unquoted words
  (cd / && exec setsid setpriv --reuid="$user" --regid="${group:-$user}" --init-groups -- \
    env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME="/var/lib/$state" STATE_DIRECTORY="/var/lib/$state" \
    $exec >>"$RT_RUN/$unit.log" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$RT_RUN/$unit.pid"
  ready="RT_READY_$unit"
  for _ in $(seq 600); do
    if grep -qF "${!ready}" "$RT_RUN/$unit.log"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "systemctl stand-in: $unit exited before it logged \"${!ready}\":" >&2
      cat "$RT_RUN/$unit.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "systemctl stand-in: $unit did not log \"${!ready}\" within 60 s:" >&2
  cat "$RT_RUN/$unit.log" >&2
  return 1
}

rt_stop() {
  local pid
  pid=$(cat "$RT_RUN/$1.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

systemctl() {
  case "$1" in
    daemon-reload) return 0 ;;
    enable)
      shift
      [ "$1" = --now ] || { echo "systemctl stand-in: only 'enable --now' is supported" >&2; return 1; }
      shift
      for unit; do rt_start "${unit%.service}" || return; done
      ;;
    restart)
      shift
      for unit; do rt_stop "${unit%.service}" && rt_start "${unit%.service}" || return; done
      ;;
    *) echo "systemctl stand-in: '$*' is not supported" >&2; return 1 ;;
  esac
}

journalctl() {
  local unit=
  while [ $# -gt 0 ]; do
    case "$1" in
      -u) unit=$2; shift 2 ;;
      -o) [ "$2" = cat ] || { echo "journalctl stand-in: only '-o cat'" >&2; return 1; }; shift 2 ;;
      *) echo "journalctl stand-in: '$1' is not supported" >&2; return 1 ;;
    esac
  done
  cat "$RT_RUN/${unit%.service}.log"
}

sudo() {
  case "$1" in
    systemctl | journalctl) "$@" ;;
    *) command sudo "$@" ;;
  esac
}

# Nobody sits at this terminal: `rportcli login` gets a real terminal from script(1), and the
# password the README kept in ADMIN_PASSWORD is typed at its prompt.
rportcli() {
  if [ "$1" = login ] && [ ! -t 0 ]; then
    printf '%s\n' "$ADMIN_PASSWORD" | script -qe -E never -c "$(printf '%q ' command rportcli "$@")" /dev/null
  else
    command rportcli "$@"
  fi
}

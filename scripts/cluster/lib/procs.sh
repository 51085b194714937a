# The cluster's host processes (sourced): started detached with their output in $CLUSTER_LOGS, their
# pid (and start time, so a recycled pid is never signalled) in $CLUSTER_PIDS, stopped by that pid.
# shellcheck shell=bash

# proc_start NAME CMD...: runs CMD in a session of its own, stdout+stderr to $CLUSTER_LOGS/NAME.log.
proc_start() {
  local name="$1" pid
  shift
  mkdir -p "$CLUSTER_LOGS" "$CLUSTER_PIDS"
  setsid "$@" </dev/null >>"$CLUSTER_LOGS/$name.log" 2>&1 &
  pid=$!
  printf '%s %s\n' "$pid" "$(proc_starttime "$pid")" >"$CLUSTER_PIDS/$name.pid"
  # Start order, so that `down` stops in reverse (a restarted process keeps its place).
  grep -qx "$name" "$CLUSTER_PIDS/order" 2>/dev/null || echo "$name" >>"$CLUSTER_PIDS/order"
}

proc_starttime() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null || true; }

# proc_pid NAME: the pid of NAME when it is still the process that proc_start started and has not
# exited (a zombie waiting for init to reap it counts as exited); else nothing.
proc_pid() {
  local file="$CLUSTER_PIDS/$1.pid" pid start
  [[ -f "$file" ]] || return 1
  read -r pid start <"$file"
  [[ -n "$pid" && "$(proc_starttime "$pid")" == "$start" ]] || return 1
  [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  echo "$pid"
}

proc_alive() { proc_pid "$1" >/dev/null; }

# proc_stop NAME [GRACE_SECONDS]: SIGTERM, then SIGKILL after GRACE_SECONDS (default 10).
proc_stop() {
  local name="$1" grace="${2:-10}" pid i
  pid="$(proc_pid "$name")" || { rm -f "$CLUSTER_PIDS/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    proc_alive "$name" || break
    sleep 0.1
  done
  if proc_alive "$name"; then
    log "$name (pid $pid) did not stop in ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$CLUSTER_PIDS/$name.pid"
}

# proc_stop_all: every process proc_start started, newest first.
proc_stop_all() {
  local name
  [[ -f "$CLUSTER_PIDS/order" ]] || return 0
  for name in $(tac "$CLUSTER_PIDS/order"); do proc_stop "$name"; done
  rm -f "$CLUSTER_PIDS/order"
}

# wait_for LABEL TIMEOUT_SECONDS PROCESS_NAMES CMD...: polls CMD every 0.5 s until it succeeds. Fails
# early, with the tail of their logs, when one of the (space-separated) processes has exited.
wait_for() {
  local label="$1" timeout="$2" procs="$3" t0=$SECONDS p
  shift 3
  until "$@" >/dev/null 2>&1; do
    for p in $procs; do
      if ! proc_alive "$p"; then
        log "$p exited while waiting for $label; the end of its log:"
        tail -n 30 "$CLUSTER_LOGS/$p.log" >&2 || true
        return 1
      fi
    done
    if ((SECONDS - t0 >= timeout)); then
      log "timed out after ${timeout}s waiting for $label"
      for p in $procs; do log "--- $p.log" && tail -n 15 "$CLUSTER_LOGS/$p.log" >&2 || true; done
      return 1
    fi
    sleep 0.5
  done
  log "$label ($((SECONDS - t0))s)"
}

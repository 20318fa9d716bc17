#!/usr/bin/env bash
# Starts and stops netagent's own container engine: a dockerd from Debian's docker.io that serves
# on its own socket and keeps its images, containers and state apart from any other engine.
#
#   engine.sh start    start dockerd unless it already runs; waits until it responds
#   engine.sh stop     stop the dockerd named in the pid file (SIGTERM, SIGKILL after 60 s)
#   engine.sh status   exit 0 and print the PID if it runs and responds, exit 1 otherwise
#
# Clients reach it with DOCKER_HOST=unix:///run/netagent-docker.sock. The engine creates no bridge,
# no iptables rules and no IP forwarding on the host, so containers must run with `--network none`
# (each is then its own host with only loopback) and are reached through bind-mounted UNIX sockets.
# Images stay in the data root between runs, so the agent image is built from nothing only once per
# machine.
#
# Files: /run/netagent-docker.sock, /run/netagent-docker.pid, /run/netagent-docker/ (exec root),
# /var/lib/netagent-docker/ (data root), /var/log/netagent-docker.log (the engine's output).
# Requires root and docker.io (scripts/install-deps.sh).
set -euo pipefail

readonly SOCKET=/run/netagent-docker.sock
readonly PIDFILE=/run/netagent-docker.pid
readonly EXEC_ROOT=/run/netagent-docker
readonly DATA_ROOT=/var/lib/netagent-docker
readonly LOGFILE=/var/log/netagent-docker.log
readonly START_TIMEOUT=60
readonly STOP_TIMEOUT=60

log() {
  echo "engine: $*"
}

die() {
  echo "engine: error: $*" >&2
  exit 1
}

# Prints the PID in the pid file if that process is alive and is a dockerd. The name check keeps a
# stale pid file from pointing at an unrelated process that reuses the PID.
live_pid() {
  local pid comm
  [[ -f $PIDFILE ]] || return 1
  pid=$(tr -d ' \n' <"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == dockerd ]] || return 1
  echo "$pid"
}

responds() {
  docker --host "unix://$SOCKET" version >/dev/null 2>&1
}

status_engine() {
  local pid
  if pid=$(live_pid) && responds; then
    echo "$pid"
    return 0
  fi
  return 1
}

start_engine() {
  local pid deadline
  if pid=$(live_pid); then
    if responds; then
      log "dockerd (pid $pid) already runs on $SOCKET"
      return 0
    fi
    die "dockerd (pid $pid) runs but does not respond on $SOCKET; see $LOGFILE, or run '$0 stop' and start again"
  fi
  command -v dockerd >/dev/null || die "dockerd is missing; run scripts/install-deps.sh"
  # A dockerd that was killed leaves its pid file and socket behind, and a new one refuses to start
  # while the pid file names a PID.
  rm -f "$PIDFILE" "$SOCKET"
  mkdir -p "$EXEC_ROOT" "$DATA_ROOT"

  # setsid detaches the engine from the caller's process group, so that a Ctrl-C in the shell that
  # ran this script does not reach it and only `engine.sh stop` ends it.
  setsid dockerd \
    --host "unix://$SOCKET" \
    --pidfile "$PIDFILE" \
    --exec-root "$EXEC_ROOT" \
    --data-root "$DATA_ROOT" \
    --bridge=none \
    --iptables=false \
    --ip-forward=false \
    --ip-masq=false \
    </dev/null >>"$LOGFILE" 2>&1 &
  pid=$!

  deadline=$((SECONDS + START_TIMEOUT))
  until responds; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOGFILE" >&2
      die "dockerd exited during start-up; the last lines of $LOGFILE are above"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$LOGFILE" >&2
      kill -TERM "$pid" 2>/dev/null || true
      die "dockerd (pid $pid) did not respond on $SOCKET within ${START_TIMEOUT}s; stopped it"
    fi
    sleep 0.2
  done
  log "dockerd (pid $pid) responds on $SOCKET; use DOCKER_HOST=unix://$SOCKET"
}

stop_engine() {
  local pid ticks=0
  if ! pid=$(live_pid); then
    log "nothing to stop: no dockerd runs from $PIDFILE"
    return 0
  fi
  # dockerd stops the containers that still run, then the containerd it started.
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && ((ticks < STOP_TIMEOUT * 10)); do
    sleep 0.1
    ticks=$((ticks + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) still runs ${STOP_TIMEOUT}s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    log "warning: its containerd and container processes may still run; see 'ps -ef --forest'"
  fi
  unmount_exec_root
  log "stopped"
}

# dockerd leaves a bind mount of the host's network namespace under its exec root (netns/default)
# when it exits. A stopped engine should leave no mount behind.
unmount_exec_root() {
  local target
  while IFS= read -r target; do
    umount "$target" || log "warning: could not unmount $target"
  done < <(findmnt --raw --noheadings --output TARGET | grep "^$EXEC_ROOT/" | sort -r)
}

main() {
  (($# == 1)) || die "usage: $0 start | stop | status"
  [[ $EUID -eq 0 ]] || die "must run as root"
  case $1 in
    start) start_engine ;;
    stop) stop_engine ;;
    status) status_engine ;;
    *) die "usage: $0 start | stop | status" ;;
  esac
}

main "$@"

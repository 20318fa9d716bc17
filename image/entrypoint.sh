#!/bin/bash
# Starts virtlogd, libvirtd and the netagent agent in the container, and stops them in reverse order
# on SIGTERM or SIGINT (what `docker stop` sends). tini runs this script and reaps the processes that
# libvirt daemonizes, such as dnsmasq.
#
# Arguments are passed to the agent (`/opt/netagent/server/bin/netagent --help` lists them).
# The agent serves on $NETAGENT_LISTEN (unix:///run/netagent/netagent.sock in the image), talks to
# this container's libvirtd, and logs JSON lines to stdout; the daemons log to stderr. When any of
# the three exits on its own, the others are stopped and the container exits with status 1.
set -uo pipefail

readonly LIBVIRT_SOCKET=/run/libvirt/libvirt-sock
readonly LIBVIRT_START_TIMEOUT=30

agent_pid=""
libvirtd_pid=""
virtlogd_pid=""

log() {
  echo "netagent-entrypoint: $*" >&2
}

# Sends SIGTERM to one process and waits for it to exit. docker stop sends SIGKILL after its own
# timeout (10 s by default), which bounds the wait.
stop_process() {
  local name=$1 pid=$2
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

# The agent goes first so that no call reaches a libvirtd that is shutting down.
stop_all() {
  stop_process agent "$agent_pid"
  stop_process libvirtd "$libvirtd_pid"
  stop_process virtlogd "$virtlogd_pid"
}

on_signal() {
  log "received $1"
  stop_all
  log "stopped"
  exit 0
}

trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT

# Without these, daemons in the foreground pick their log outputs themselves; stderr ends up in
# `docker logs`. Level 3 keeps warnings and errors.
export LIBVIRT_LOG_OUTPUTS="3:stderr"

# libvirt writes per-bridge sysctls (disable_ipv6, forwarding) under /proc/sys/net, which the engine
# mounts read-only in a container that is not privileged. Only the net subtree is made writable
# again: it belongs to the container's own network namespace, while kernel-wide sysctls stay
# read-only.
if ! touch /proc/sys/net/ipv4/ip_forward 2>/dev/null; then
  if mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net; then
    log "made /proc/sys/net writable for libvirt's bridges"
  else
    log "warning: /proc/sys/net is read-only and could not be remounted (CAP_SYS_ADMIN missing?); starting networks will fail"
  fi
fi

virtlogd &
virtlogd_pid=$!
libvirtd &
libvirtd_pid=$!

# The agent would start without libvirtd and return UNAVAILABLE until libvirtd accepts connections; waiting for
# the socket keeps those early calls from failing.
waited=0
until [[ -S $LIBVIRT_SOCKET ]]; do
  if ! kill -0 "$libvirtd_pid" 2>/dev/null; then
    log "error: libvirtd exited during start-up; its messages are above"
    stop_all
    exit 1
  fi
  if ((waited >= LIBVIRT_START_TIMEOUT * 10)); then
    log "error: libvirtd created no $LIBVIRT_SOCKET within ${LIBVIRT_START_TIMEOUT}s"
    stop_all
    exit 1
  fi
  sleep 0.1
  waited=$((waited + 1))
done
log "libvirtd (pid $libvirtd_pid) listens on $LIBVIRT_SOCKET"

/opt/netagent/server/bin/netagent --libvirt-socket "$LIBVIRT_SOCKET" "$@" &
agent_pid=$!

# wait -n returns when one of the three exits, or early when a trapped signal arrives; the trap
# then stops everything and exits.
wait -n "$agent_pid" "$libvirtd_pid" "$virtlogd_pid"
status=$?
for name in agent libvirtd virtlogd; do
  pid_var=${name}_pid
  if ! kill -0 "${!pid_var}" 2>/dev/null; then
    log "error: $name (pid ${!pid_var}) exited with status $status; stopping the others"
    break
  fi
done
stop_all
exit 1

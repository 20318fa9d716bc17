#!/usr/bin/env bash
# Runs the netagent agent in the foreground (what `make run` calls).
#
# Installs dependencies and builds (scripts/install-deps.sh). If a libvirtd already responds on
# /run/libvirt/libvirt-sock, the agent uses it and runs in the current network namespace.
# Otherwise this script starts a sandboxed libvirtd (scripts/sandbox.sh) in network namespace
# "netagent" and runs the agent inside that namespace, next to its bridges. Ctrl-C, SIGTERM or
# the agent's exit stops the agent and, if this script started it, the sandbox.
#
# Environment:
#   NETAGENT_LISTEN       the agent's gRPC address (default unix:///run/netagent/netagent.sock)
#   NETAGENT_SANDBOX_DIR  the sandbox's folder, deleted when the sandbox stops
#                         (default /var/lib/netagent/sandbox)
#   NETAGENT_SANDBOX=1    start a sandbox even when a libvirtd responds on /run/libvirt/libvirt-sock
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

readonly LISTEN=${NETAGENT_LISTEN:-unix:///run/netagent/netagent.sock}
readonly SANDBOX_DIR=${NETAGENT_SANDBOX_DIR:-/var/lib/netagent/sandbox}
readonly SANDBOX_NETNS=netagent
readonly SYSTEM_SOCKET=/run/libvirt/libvirt-sock

agent_pid=""
sandbox_started=no
cleaned_up=no

log() {
  echo "run: $*"
}

# Stops whatever is still running from a run whose script was killed before its own cleanup.
clean_up_leftovers() {
  local pid
  local -a pids=()
  if [[ -e $SANDBOX_DIR ]]; then
    log "stopping the sandbox left in $SANDBOX_DIR by an earlier run"
    scripts/sandbox.sh stop "$SANDBOX_DIR"
  fi
  if [[ -e /run/netns/$SANDBOX_NETNS ]]; then
    log "deleting network namespace $SANDBOX_NETNS left by an earlier run"
    for pid in $(ip netns pids "$SANDBOX_NETNS"); do
      log "stopping process $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo exited)) in $SANDBOX_NETNS"
      pids+=("$pid")
    done
    if ((${#pids[@]} > 0)); then
      kill -TERM "${pids[@]}" 2>/dev/null || true
      sleep 2
      kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    ip netns delete "$SANDBOX_NETNS"
  fi
}

# Warns when the libvirtd named in /run/libvirtd.pid (where `libvirtd -d` writes its PID) runs in
# another network namespace: its bridges are then invisible to the agent's host checks.
warn_if_libvirtd_elsewhere() {
  local pid netns
  pid=$(cat /run/libvirtd.pid 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ && -e /proc/$pid/ns/net ]] || return 0
  if [[ $(readlink "/proc/$pid/ns/net") != "$(readlink /proc/$$/ns/net)" ]]; then
    netns=$(ip netns identify "$pid" 2>/dev/null || true)
    log "warning: that libvirtd (pid $pid) runs in network namespace ${netns:-(unnamed)}, not in this one;" \
      "the agent will not see its bridges. Run 'ip netns exec ${netns:-NAME} make run' to run the agent there."
  fi
}

# Stops the agent by its PID: SIGTERM, then SIGKILL if it still runs after 10 s.
stop_agent() {
  local ticks=0
  [[ -n $agent_pid ]] || return 0
  if kill -0 "$agent_pid" 2>/dev/null; then
    log "stopping the agent (pid $agent_pid)"
    kill -TERM "$agent_pid" 2>/dev/null || true
    while kill -0 "$agent_pid" 2>/dev/null && ((ticks < 100)); do
      sleep 0.1
      ticks=$((ticks + 1))
    done
    if kill -0 "$agent_pid" 2>/dev/null; then
      log "the agent (pid $agent_pid) still runs 10 s after SIGTERM, sending SIGKILL"
      kill -KILL "$agent_pid" 2>/dev/null || true
    fi
  fi
  # Reaps the agent; its exit status was already reported or does not matter here.
  wait "$agent_pid" 2>/dev/null || true
  agent_pid=""
}

clean_up() {
  [[ $cleaned_up == no ]] || return 0
  cleaned_up=yes
  # A second Ctrl-C or SIGTERM must not end this script halfway through stopping the sandbox.
  trap '' INT TERM
  stop_agent
  if [[ $sandbox_started == yes ]]; then
    scripts/sandbox.sh stop "$SANDBOX_DIR" || log "error: stopping the sandbox failed; run 'scripts/sandbox.sh stop $SANDBOX_DIR'"
  fi
}

on_signal() {
  local signal=$1 code=$2
  log "received $signal"
  clean_up
  exit "$code"
}

trap clean_up EXIT
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGTERM 143' TERM

scripts/install-deps.sh

declare -a agent_command=(server/bin/netagent --listen "$LISTEN")
if [[ ${NETAGENT_SANDBOX:-} != 1 ]] && timeout 30 virsh -q -c qemu:///system version >/dev/null 2>&1; then
  log "using the libvirtd that responds on $SYSTEM_SOCKET, from the current network namespace"
  warn_if_libvirtd_elsewhere
  agent_command+=(--libvirt-socket "$SYSTEM_SOCKET")
else
  if [[ ${NETAGENT_SANDBOX:-} == 1 ]]; then
    log "NETAGENT_SANDBOX=1: starting a sandboxed libvirtd in network namespace $SANDBOX_NETNS"
  else
    log "no libvirtd responds on $SYSTEM_SOCKET; starting a sandboxed one in network namespace $SANDBOX_NETNS"
  fi
  clean_up_leftovers
  mkdir -p "$(dirname "$SANDBOX_DIR")"
  sandbox_started=yes
  scripts/sandbox.sh start "$SANDBOX_DIR" "$SANDBOX_NETNS"
  agent_command=(ip netns exec "$SANDBOX_NETNS" "${agent_command[@]}" --libvirt-socket "$SANDBOX_DIR/run/libvirt-sock")
  if [[ $LISTEN != unix://* ]]; then
    log "note: $LISTEN is inside network namespace $SANDBOX_NETNS; reach it with 'ip netns exec $SANDBOX_NETNS ...'"
  fi
  log "inspect the sandbox with: virsh -c 'qemu:///system?socket=$SANDBOX_DIR/run/libvirt-sock' net-list --all"
fi

"${agent_command[@]}" &
agent_pid=$!
log "agent (pid $agent_pid) serves on $LISTEN; stop it with Ctrl-C"
log "try: node client/dist/cli/main.js --address $LISTEN network list"

# wait returns early when a trapped signal arrives; the trap then stops the agent and exits.
status=0
wait "$agent_pid" || status=$?
agent_pid=""
log "the agent exited with status $status"
exit "$status"

#!/usr/bin/env bash
# Starts and stops a private libvirtd for tests and `make run`.
#
#   sandbox.sh start DIR NETNS      start virtlogd and libvirtd in network namespace NETNS
#   sandbox.sh start-libvirtd DIR   start libvirtd again, in the same namespaces, after it stopped
#   sandbox.sh stop DIR             stop everything that `start DIR ...` started, then delete DIR
#
# The daemons run in their own network namespace, so bridges, dnsmasq and firewall rules never
# reach the machine's interfaces. They also run in a private mount namespace where DIR's subfolders
# are bind-mounted over libvirt's folders, so they share no socket, state or configuration with any
# other libvirtd on the machine. The mounts exist only in that mount namespace and vanish with its
# last process. Clients outside reach the daemon through DIR/run/libvirt-sock:
#
#   virsh -c 'qemu:///system?socket=DIR/run/libvirt-sock' net-list --all
#
# Files in DIR: .netagent-sandbox (marks a folder that stop may delete), netns (the namespace
# name), libvirtd.pid, virtlogd.pid, and run/ lib/ etc/ cache/ log/ (log/libvirtd.log and
# log/virtlogd.log contain the daemons' warnings and errors).
#
# Environment: SANDBOX_START_TIMEOUT, seconds that start waits for `virsh version` to succeed
# (default 30).
# SANDBOX_DNSMASQ_HOLD=yes lets tests hold a network's start at a known step, after libvirtd has
# created the bridge and before it runs dnsmasq. libvirtd then runs dnsmasq as DIR/bin/dnsmasq, a
# symbolic link to the real binary. To hold the start of NETWORK, a test creates the file
# DIR/dnsmasq-hold/NETWORK and points the link at DIR/dnsmasq-wrapper. The wrapper creates
# DIR/dnsmasq-hold/NETWORK.waiting and waits (up to 60 s) until the hold file is gone, then runs
# the real dnsmasq; if libvirtd died meanwhile, it exits without running it. The test points the
# link back at the real binary when it releases the hold, because libvirtd accepts a dnsmasq
# process as its own only when the process's binary is the one the link resolves to.
# Requires root, iproute2, util-linux (unshare, nsenter, setpriv) and libvirt (scripts/install-deps.sh).
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SELF
readonly MARKER=.netagent-sandbox

# DIR of the sandbox that start is setting up, for abort_start.
starting_dir=""

# Capabilities of the QEMU binaries that sandboxes probed before, copied into each new sandbox.
# Probing qemu-system-x86_64 takes about 4 s, and libvirtd does it on the first client call that
# needs QEMU's capabilities, `virsh version` included. With this seed, start returns in about
# 0.2 s (measured with libvirt 9.0.0 and QEMU 7.2 on a 2-core Debian 12 VM). Reusing the files is
# safe because libvirtd discards and re-probes any entry whose QEMU binary, libvirtd binary,
# kernel, microcode or KVM access changed since it was written.
readonly CAPS_SEED=/var/cache/netagent/qemu-capabilities

# The user that libvirtd runs QEMU as (Debian's default in /etc/libvirt/qemu.conf).
readonly QEMU_USER=libvirt-qemu

# Subfolder of DIR and the libvirt folder it replaces inside the sandbox.
readonly MOUNTS=(
  "run:/run/libvirt"
  "lib:/var/lib/libvirt"
  "etc:/etc/libvirt"
  "cache:/var/cache/libvirt"
  "log:/var/log/libvirt"
)

usage() {
  echo "usage: $0 start DIR NETNS | start-libvirtd DIR | stop DIR" >&2
  exit 2
}

log() {
  echo "sandbox: $*"
}

die() {
  echo "sandbox: error: $*" >&2
  exit 1
}

libvirt_uri() {
  echo "qemu:///system?socket=$1/run/libvirt-sock"
}

# Prints the PID in PIDFILE if that process is alive and its command name is NAME. The name check
# keeps a stale pid file from a crashed run from pointing at an unrelated process that reuses the PID.
live_pid() {
  local name=$1 pidfile=$2 pid comm
  [[ -f $pidfile ]] || return 1
  pid=$(tr -d ' \n' <"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] && is_running "$pid" || return 1
  echo "$pid"
}

# Succeeds while PID exists and is not a zombie that its parent has yet to reap.
is_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # The state letter follows the command name, which is in parentheses and may contain spaces.
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

any_running() {
  local pid
  for pid in "$@"; do
    is_running "$pid" && return 0
  done
  return 1
}

# Sends SIGTERM to every PID, waits up to GRACE seconds for all of them to exit, then sends
# SIGKILL to the rest.
terminate_pids() {
  local grace=$1 pid ticks=0
  shift
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  while any_running "$@" && ((ticks < grace * 10)); do
    sleep 0.1
    ticks=$((ticks + 1))
  done
  for pid in "$@"; do
    if is_running "$pid"; then
      log "process $pid still runs ${grace}s after SIGTERM, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  # A killed process disappears once the kernel has torn it down. Wait up to 5 s for that.
  ticks=0
  while any_running "$@" && ((ticks < 50)); do
    sleep 0.1
    ticks=$((ticks + 1))
  done
  for pid in "$@"; do
    if is_running "$pid"; then
      log "warning: process $pid did not exit after SIGKILL"
    fi
  done
}

netns_exists() {
  [[ -n $1 && -e /run/netns/$1 ]]
}

# Writes DIR/bin/dnsmasq and DIR/dnsmasq-wrapper for SANDBOX_DNSMASQ_HOLD (see the top). libvirt
# passes each network's configuration as --conf-file=.../NETWORK.conf, which names the network.
write_dnsmasq_wrapper() {
  local dir=$1 dnsmasq
  dnsmasq=$(command -v dnsmasq) || die "dnsmasq is not installed"
  mkdir -p "$dir/bin" "$dir/dnsmasq-hold"
  ln -s "$dnsmasq" "$dir/bin/dnsmasq"
  cat >"$dir/dnsmasq-wrapper" <<EOF
#!/bin/sh
# Test wrapper written by sandbox.sh: holds a network's dnsmasq while $dir/dnsmasq-hold/NETWORK exists.
hold=$dir/dnsmasq-hold
network=
for arg in "\$@"; do
  case \$arg in --conf-file=*) network=\$(basename "\${arg#--conf-file=}" .conf) ;; esac
done
if [ -n "\$network" ] && [ -e "\$hold/\$network" ]; then
  : >"\$hold/\$network.waiting"
  ticks=0
  while [ -e "\$hold/\$network" ] && [ \$ticks -lt 600 ] && kill -0 \$PPID 2>/dev/null; do
    sleep 0.1
    ticks=\$((ticks + 1))
  done
  kill -0 \$PPID 2>/dev/null || exit 1
fi
exec $dnsmasq "\$@"
EOF
  chmod 755 "$dir/dnsmasq-wrapper"
}

# Starts libvirtd in the background. When HOLD_DNSMASQ is yes, DIR/bin comes first in its PATH,
# where libvirtd looks for dnsmasq.
run_libvirtd() {
  local dir=$1 hold_dnsmasq=$2 path=$PATH
  [[ $hold_dnsmasq == yes ]] && path=$dir/bin:$PATH
  PATH=$path libvirtd -d -p "$dir/libvirtd.pid" </dev/null >/dev/null
}

# Runs inside `ip netns exec NETNS unshare --mount --propagation private`, so the bind mounts
# below are seen only by this process and the daemons it starts.
launch_daemons() {
  local dir=$1 hide_kvm=$2 hold_dnsmasq=$3 entry
  for entry in "${MOUNTS[@]}"; do
    # mkdir acts on the shared file system: /run/libvirt may not exist yet on a machine where no
    # libvirtd has run, and an empty folder there is harmless.
    mkdir -p "${entry#*:}"
    mount --bind "$dir/${entry%%:*}" "${entry#*:}"
  done
  if [[ $hide_kvm == yes ]]; then
    mount --bind "$dir/kvm-unavailable" /dev/kvm
  fi
  # Both daemons redirect stdin, stdout and stderr to /dev/null once they are in the background.
  # Errors before that point (a bad configuration file, say) reach this script's stderr.
  virtlogd -d -p "$dir/virtlogd.pid" </dev/null >/dev/null
  run_libvirtd "$dir" "$hold_dnsmasq"
}

# Copies the machine's libvirt configuration into ETC_DIR without any defined networks, guests or
# storage pools, so every sandbox starts empty whatever the machine's own libvirtd has defined.
copy_config() {
  local etc_dir=$1
  cp -a /etc/libvirt/. "$etc_dir/"
  rm -f "$etc_dir"/qemu/networks/*.xml "$etc_dir"/qemu/networks/autostart/*.xml
  rm -f "$etc_dir"/qemu/*.xml "$etc_dir"/qemu/autostart/*.xml
  rm -f "$etc_dir"/storage/*.xml "$etc_dir"/storage/autostart/*.xml
  # Warnings and errors go to files in DIR/log. Without these lines a daemon in the background
  # logs to syslog, which a machine without an init system does not run.
  echo 'log_outputs="3:file:/var/log/libvirt/libvirtd.log"' >>"$etc_dir/libvirtd.conf"
  echo 'log_outputs="3:file:/var/log/libvirt/virtlogd.log"' >>"$etc_dir/virtlogd.conf"
}

# Prints "yes" when /dev/kvm exists but the QEMU user may not open it.
#
# With /dev/kvm at mode 0600, the QEMU that libvirt 9.0.0 runs to probe capabilities reports KVM
# as enabled, but libvirtd's own check finds that the QEMU user cannot open the device. libvirtd
# then logs "KVM was enabled when probing ..., but it is not available now", discards the result
# and probes again on every call that needs capabilities, so each `virsh version` takes about 4 s.
# Guests of such a sandbox cannot use KVM anyway, so start hides the device behind an empty file
# that only root may open, and the probe then finds no KVM either.
kvm_needs_hiding() {
  if [[ -e /dev/kvm ]] &&
    ! setpriv --reuid="$QEMU_USER" --regid="$QEMU_USER" --init-groups test -r /dev/kvm -a -w /dev/kvm; then
    echo yes
  else
    echo no
  fi
}

seed_capabilities_cache() {
  local cache_dir=$1
  mkdir -p "$cache_dir/qemu/capabilities"
  if [[ -d $CAPS_SEED ]]; then
    find "$CAPS_SEED" -maxdepth 1 -name '*.xml' -exec cp -p {} "$cache_dir/qemu/capabilities/" \;
  fi
}

# Copies the capabilities that libvirtd probed or confirmed back to the seed. Each file is written
# under a temporary name and renamed, so a sandbox starting at the same time never reads half a file.
save_capabilities_cache() {
  local cache_dir=$1 file name
  mkdir -p "$CAPS_SEED" || return 1
  for file in "$cache_dir"/qemu/capabilities/*.xml; do
    [[ -f $file ]] || continue
    name=$(basename "$file")
    cp -p "$file" "$CAPS_SEED/.$name.$$" || return 1
    mv -f "$CAPS_SEED/.$name.$$" "$CAPS_SEED/$name" || return 1
  done
}

# Runs as the EXIT trap while start is under way, so that any failure, expected or not, stops
# whatever start had started and deletes DIR.
abort_start() {
  echo "sandbox: error: start failed; cleaning up" >&2
  stop_sandbox "$starting_dir" >&2
}

# Polls libvirtd until `virsh version` succeeds or TIMEOUT seconds pass.
wait_for_libvirtd() {
  local dir=$1 timeout=$2 deadline output
  deadline=$((SECONDS + timeout))
  while :; do
    if output=$(virsh -c "$(libvirt_uri "$dir")" version 2>&1); then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "sandbox: error: 'virsh version' on $dir/run/libvirt-sock did not succeed within ${timeout}s." >&2
      echo "sandbox: last virsh output: $output" >&2
      if [[ -s $dir/log/libvirtd.log ]]; then
        echo "sandbox: last lines of $dir/log/libvirtd.log:" >&2
        tail -n 20 "$dir/log/libvirtd.log" >&2
      fi
      return 1
    fi
    sleep 0.2
  done
}

start_sandbox() {
  local dir=$1 netns=$2 timeout=${SANDBOX_START_TIMEOUT:-30} hold_dnsmasq=${SANDBOX_DNSMASQ_HOLD:-no} sub hide_kvm started
  [[ $dir == /* ]] || die "DIR must be an absolute path, got '$dir'"
  # DIR goes into a libvirt URI, where spaces, '?', '&' and '%' would change its meaning.
  [[ $dir =~ ^[A-Za-z0-9_./-]+$ ]] || die "DIR may contain only letters, digits and _ . / -, got '$dir'"
  # A UNIX socket path is at most 107 bytes long on Linux, and DIR/run/libvirt-sock adds 17.
  ((${#dir} <= 90)) || die "DIR is too long for a UNIX socket path (at most 90 bytes): '$dir'"
  [[ $netns =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "NETNS may contain only letters, digits and _ . -, got '$netns'"
  [[ $timeout =~ ^[0-9]+$ ]] || die "SANDBOX_START_TIMEOUT must be a whole number of seconds, got '$timeout'"
  [[ $hold_dnsmasq == yes || $hold_dnsmasq == no ]] || die "SANDBOX_DNSMASQ_HOLD must be yes or no, got '$hold_dnsmasq'"
  if [[ -e $dir && -n $(ls -A "$dir") ]]; then
    die "$dir is not empty; run '$0 stop $dir' to stop an old sandbox there, or choose an empty folder"
  fi
  if netns_exists "$netns"; then
    die "network namespace $netns already exists; delete it with 'ip netns delete $netns' or choose another name"
  fi

  mkdir -p "$dir"
  : >"$dir/$MARKER"
  starting_dir=$dir
  trap abort_start EXIT
  ip netns add "$netns"
  echo "$netns" >"$dir/netns"
  ip netns exec "$netns" ip link set lo up
  log "created network namespace $netns"

  for sub in run lib etc cache log; do
    mkdir -p "$dir/$sub"
  done
  copy_config "$dir/etc"
  seed_capabilities_cache "$dir/cache"
  hide_kvm=$(kvm_needs_hiding)
  if [[ $hide_kvm == yes ]]; then
    install -m 000 /dev/null "$dir/kvm-unavailable"
    # libvirt gives each guest a private /dev and fails to carry a file mounted over /dev/kvm into
    # it ("Unable to move ... mount to /dev/kvm: Invalid argument"), so guests share this /dev.
    echo 'namespaces = []' >>"$dir/etc/qemu.conf"
    log "hiding /dev/kvm because user $QEMU_USER may not open it; guests must use TCG (<domain type='qemu'>)"
  fi

  if [[ $hold_dnsmasq == yes ]]; then
    write_dnsmasq_wrapper "$dir"
    log "libvirtd runs dnsmasq as $dir/bin/dnsmasq, so that tests can hold a network's start"
  fi

  started=$SECONDS
  if ! ip netns exec "$netns" unshare --mount --propagation private "$SELF" __launch "$dir" "$hide_kvm" "$hold_dnsmasq"; then
    echo "sandbox: error: starting virtlogd or libvirtd failed" >&2
    exit 1
  fi
  wait_for_libvirtd "$dir" "$timeout" || exit 1
  trap - EXIT

  if ! save_capabilities_cache "$dir/cache"; then
    log "warning: could not save QEMU capabilities to $CAPS_SEED, so the next sandbox probes QEMU again"
  fi
  log "libvirtd (pid $(cat "$dir/libvirtd.pid")) is ready on $dir/run/libvirt-sock after $((SECONDS - started))s"
}

# Starts libvirtd again after it stopped or was killed, in the network and mount namespaces of the
# sandbox's virtlogd, which are the ones the first libvirtd ran in.
start_libvirtd() {
  local dir=$1 timeout=${SANDBOX_START_TIMEOUT:-30} virtlogd pid
  [[ $dir == /* ]] || die "DIR must be an absolute path, got '$dir'"
  [[ -f $dir/$MARKER ]] || die "$dir has no $MARKER file, so it is not a sandbox folder"
  if pid=$(live_pid libvirtd "$dir/libvirtd.pid"); then
    die "libvirtd of $dir still runs (pid $pid); stop it first"
  fi
  virtlogd=$(live_pid virtlogd "$dir/virtlogd.pid") ||
    die "virtlogd of $dir is not running, so its namespaces are gone; stop the sandbox and start a new one"
  local hold_dnsmasq=no
  [[ -d $dir/bin ]] && hold_dnsmasq=yes
  nsenter --target "$virtlogd" --mount --net "$SELF" __libvirtd "$dir" "$hold_dnsmasq"
  wait_for_libvirtd "$dir" "$timeout"
  log "libvirtd (pid $(cat "$dir/libvirtd.pid")) is ready again on $dir/run/libvirt-sock"
}

# Destroys every running guest and active network, so that libvirtd stops the qemu and dnsmasq
# processes it started and removes their bridges and firewall rules.
destroy_active_objects() {
  local uri=$1 name
  local -a virsh=(timeout 15 virsh -q -c "$uri")
  while read -r name; do
    [[ -n $name ]] || continue
    log "destroying guest $name"
    "${virsh[@]}" destroy "$name" >/dev/null || log "warning: virsh destroy $name failed"
  done < <("${virsh[@]}" list --name 2>/dev/null || true)
  while read -r name; do
    [[ -n $name ]] || continue
    log "destroying network $name"
    "${virsh[@]}" net-destroy "$name" >/dev/null || log "warning: virsh net-destroy $name failed"
  done < <("${virsh[@]}" net-list --name 2>/dev/null || true)
}

stop_sandbox() {
  local dir=$1 netns="" name pidfile pid
  local -a pids=()
  [[ $dir == /* ]] || die "DIR must be an absolute path, got '$dir'"
  if [[ ! -e $dir ]]; then
    log "nothing to stop: $dir does not exist"
    return 0
  fi
  # The marker keeps a mistyped DIR (/, /etc) from being deleted below.
  [[ -f $dir/$MARKER ]] || die "$dir has no $MARKER file, so it is not a sandbox folder; not touching it"
  if [[ -f $dir/netns ]]; then
    netns=$(cat "$dir/netns")
    if [[ ! $netns =~ ^[A-Za-z0-9_.-]{1,64}$ ]]; then
      log "warning: ignoring the invalid namespace name '$netns' in $dir/netns"
      netns=""
    fi
  fi

  if live_pid libvirtd "$dir/libvirtd.pid" >/dev/null && [[ -S $dir/run/libvirt-sock ]]; then
    destroy_active_objects "$(libvirt_uri "$dir")"
  fi
  for name in libvirtd virtlogd; do
    if pid=$(live_pid "$name" "$dir/$name.pid"); then
      log "stopping $name (pid $pid)"
      pids+=("$pid")
    fi
  done
  # Networks that could not be destroyed, or a libvirtd that died, leave dnsmasq running.
  for pidfile in "$dir"/run/network/*.pid; do
    if pid=$(live_pid dnsmasq "$pidfile"); then
      log "stopping dnsmasq (pid $pid) of network $(basename "$pidfile" .pid)"
      pids+=("$pid")
    fi
  done
  terminate_pids 10 "${pids[@]}"

  if netns_exists "$netns"; then
    # Whatever still runs in the namespace was started inside this sandbox: a guest's qemu, an
    # agent started with `ip netns exec`, a command that a test left behind.
    pids=()
    for pid in $(ip netns pids "$netns"); do
      log "stopping leftover process $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo exited)) in $netns"
      pids+=("$pid")
    done
    terminate_pids 5 "${pids[@]}"
    ip netns delete "$netns"
    log "deleted network namespace $netns"
  fi
  rm -rf "$dir"
  log "stopped; deleted $dir"
}

main() {
  (($# >= 1)) || usage
  local command=$1
  shift
  case $command in
    start)
      (($# == 2)) || usage
      [[ $EUID -eq 0 ]] || die "must run as root"
      start_sandbox "$1" "$2"
      ;;
    start-libvirtd)
      (($# == 1)) || usage
      [[ $EUID -eq 0 ]] || die "must run as root"
      start_libvirtd "$1"
      ;;
    stop)
      (($# == 1)) || usage
      [[ $EUID -eq 0 ]] || die "must run as root"
      stop_sandbox "$1"
      ;;
    __launch)
      (($# == 3)) || usage
      launch_daemons "$1" "$2" "$3"
      ;;
    __libvirtd)
      (($# == 2)) || usage
      run_libvirtd "$1" "$2"
      ;;
    *)
      usage
      ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# Installs what netagent needs to build, run and test, then builds it. Safe to run again: each step
# is skipped when its result is already there, so a second run takes a few seconds and runs no
# apt-get at all.
#
#   1. Debian packages: libvirtd with its QEMU driver, virsh, dnsmasq, iptables/nftables, iproute2,
#      the container engine and debootstrap for the agent image, Python's gRPC for the Python client
#      test, openssl for the test certificate authorities, busybox-static for the test guests,
#      python3-libvirt for `make bench` (as root, only those that are missing)
#   2. npm packages (`npm ci`, when node_modules is missing or older than package-lock.json)
#   3. TypeScript build (`npx tsc -b`; the generated protobuf code is checked in, so no buf step)
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

# qemu-system-x86 is needed even for networks only: without a QEMU binary libvirtd starts, but
# its QEMU driver fails `virsh version` (virConnectGetVersion) with "Cannot find suitable emulator
# for x86_64" (libvirt 9.0.0), and the sandbox waits on exactly that call.
readonly PACKAGES=(
  libvirt-daemon-system
  libvirt-daemon-driver-qemu
  libvirt-clients
  qemu-system-x86
  dnsmasq-base
  iptables
  nftables
  iproute2
  # udhcpc, the DHCP client that plays a guest NIC in the integration tests
  busybox-static
  docker.io
  debootstrap
  debian-archive-keyring
  python3-grpcio
  python3-grpc-tools
  # the integration tests make throwaway certificate authorities for mutual TLS
  openssl
  # The integration tests' guests run busybox as their whole userland (integration/guest), and
  # the tests ping from the sandbox's namespace with it.
  busybox-static
  # libvirt's C client for Python: the reference that `make bench` measures the agent against.
  python3-libvirt
)

step() {
  echo "deps: $*"
}

die() {
  echo "deps: error: $*" >&2
  exit 1
}

# Runs a command with its output in a log file, which is printed only when the command fails.
run_quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "'$*' failed; its output is above"
  fi
  rm -f "$log"
}

install_debian_packages() {
  local package status
  local -a missing=()
  for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    step "Debian packages: all ${#PACKAGES[@]} installed"
    return
  fi
  [[ $EUID -eq 0 ]] || die "run as root to install the missing Debian packages: ${missing[*]}"
  step "Debian packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run_quietly apt-get update
  run_quietly apt-get install -y --no-install-recommends "${missing[@]}"
}

install_npm_packages() {
  # npm ci writes node_modules/.package-lock.json, so its mtime shows when node_modules was last
  # installed. The folder's own mtime changes only when a top-level entry is added or removed.
  if [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
    step "npm packages: node_modules is up to date with package-lock.json"
    return
  fi
  step "npm packages: running npm ci"
  run_quietly npm ci --no-audit --no-fund
}

build() {
  step "build: running npx tsc -b"
  # Compiler errors go to the terminal unfiltered, because they are what the reader must fix.
  npx tsc -b || die "the TypeScript build failed; the errors are above"
}

install_debian_packages
install_npm_packages
build
step "done"

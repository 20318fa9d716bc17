#!/usr/bin/env bash
# Creates a Debian 12 (bookworm) base image from Debian's package archive, for machines whose
# container engine cannot pull debian:bookworm-slim from a registry.
#
#   base-image.sh NAME:TAG
#
# Runs `debootstrap --variant=minbase` into a temporary folder and imports that folder with
# `docker import`. The result is a minimal Debian like the registry's slim image: the same apt
# sources (bookworm, bookworm-updates, bookworm-security) and a policy-rc.d that keeps package
# scripts from starting services during a build. Takes about half a minute.
#
# Environment: DOCKER_HOST (the engine to import into), NETAGENT_DEBIAN_MIRROR (default
# http://deb.debian.org/debian). Requires root, debootstrap and a docker client
# (scripts/install-deps.sh).
set -euo pipefail

readonly SUITE=bookworm
readonly MIRROR=${NETAGENT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() {
  echo "base-image: $*"
}

die() {
  echo "base-image: error: $*" >&2
  exit 1
}

(($# == 1)) || die "usage: $0 NAME:TAG"
readonly IMAGE=$1
[[ $EUID -eq 0 ]] || die "must run as root (debootstrap creates device files and sets owners)"
command -v debootstrap >/dev/null || die "debootstrap is missing; run scripts/install-deps.sh"

root_dir=$(mktemp -d -t netagent-base.XXXXXX)
trap 'rm -rf "$root_dir"' EXIT

log "running debootstrap --variant=minbase $SUITE from $MIRROR"
log_file=$root_dir.log
if ! debootstrap --variant=minbase "$SUITE" "$root_dir" "$MIRROR" >"$log_file" 2>&1; then
  tail -n 30 "$log_file" >&2
  rm -f "$log_file"
  die "debootstrap failed; the last lines of its output are above"
fi
rm -f "$log_file"

cat >"$root_dir/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
printf '#!/bin/sh\n# No service starts while an image is built.\nexit 101\n' >"$root_dir/usr/sbin/policy-rc.d"
chmod 755 "$root_dir/usr/sbin/policy-rc.d"
# Downloaded packages and package lists only make the image larger; apt-get update fetches fresh lists.
rm -rf "$root_dir"/var/cache/apt/archives/*.deb "$root_dir"/var/lib/apt/lists/*

log "importing $root_dir as $IMAGE"
tar --numeric-owner -C "$root_dir" -c . | docker import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "created $IMAGE"

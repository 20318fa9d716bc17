#!/usr/bin/env bash
# Builds the kernel and initramfs of the integration tests' guests from Debian packages and
# caches them, then prints the folder that contains them.
#
#   build-image.sh [CACHE_DIR]     default CACHE_DIR: /var/cache/netagent/guest-image
#
# The folder contains vmlinuz (Debian's cloud kernel), initrd.img (busybox, the kernel's virtio
# network modules, ./init and ./udhcpc-event) and kernel-version. Its name is a hash of this
# script, init, udhcpc-event and the busybox version, so a changed recipe builds a new image and
# an unchanged one is reused without any download. The kernel is the one that Debian's
# linux-image-cloud-amd64 depends on at build time, fetched with `apt-get download` and unpacked
# with `dpkg -x`; nothing is installed on the host. Images of older recipes stay in CACHE_DIR
# until removed by hand (about 15 MB each). Requires root and busybox-static
# (scripts/install-deps.sh).
set -euo pipefail

readonly HERE="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
readonly CACHE_DIR=${1:-/var/cache/netagent/guest-image}
readonly BUSYBOX=/bin/busybox
readonly KERNEL_METAPACKAGE=linux-image-cloud-amd64

# The modules a virtio NIC needs; add_module adds what they depend on.
readonly ROOT_MODULES=(virtio_pci virtio_net)

log() {
  echo "guest-image: $*" >&2
}

die() {
  echo "guest-image: error: $*" >&2
  exit 1
}

busybox_version() {
  dpkg-query -W -f='${Version}' busybox-static
}

recipe_hash() {
  {
    cat "$HERE/build-image.sh" "$HERE/init" "$HERE/udhcpc-event"
    busybox_version
  } | sha256sum | cut -c1-16
}

# Prints the versioned kernel package that the metapackage depends on, for example
# linux-image-6.1.0-57-cloud-amd64. Updates apt's package lists once when they lack it.
kernel_package() {
  local package
  package=$(apt-cache depends "$KERNEL_METAPACKAGE" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  if [[ -z $package ]]; then
    log "apt does not know $KERNEL_METAPACKAGE; running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    package=$(apt-cache depends "$KERNEL_METAPACKAGE" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  fi
  [[ -n $package ]] || die "cannot find the kernel package that $KERNEL_METAPACKAGE depends on"
  echo "$package"
}

work=""
# Modules in load order, each after the modules it depends on (filled by add_module).
modules=()

clean_up() {
  if [[ -n $work ]]; then
    rm -rf "$work"
  fi
}

# Appends MODULE to modules after the modules that its .modinfo lists in "depends=".
add_module() {
  local module=$1 directory=$2 file depends dependency
  [[ " ${modules[*]} " != *" $module "* ]] || return 0
  file=$(find "$directory" -name "$module.ko" | head -n 1)
  [[ -n $file ]] || die "module $module.ko not found in $directory"
  depends=$(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$file" | head -n 1 | cut -d= -f2)
  for dependency in ${depends//,/ }; do
    add_module "$dependency" "$directory"
  done
  modules+=("$module")
  cp "$file" "$work/initramfs/lib/modules/"
}

build() {
  local target=$1 package deb version module
  work=$(mktemp -d -t netagent-guest-image.XXXXXX)
  # apt-get download drops privileges to _apt, which must be able to write the folder.
  chmod 755 "$work"
  mkdir "$work/download"
  chown _apt "$work/download" 2>/dev/null || chmod 777 "$work/download"

  package=$(kernel_package)
  log "downloading $package"
  (cd "$work/download" && apt-get download -qq "$package" >&2) || die "apt-get download $package failed"
  deb=$(ls "$work"/download/*.deb)
  dpkg -x "$deb" "$work/kernel"
  version=$(ls "$work/kernel/lib/modules")

  mkdir -p "$work/initramfs/bin" "$work/initramfs/lib/modules"
  cp "$BUSYBOX" "$work/initramfs/bin/busybox"
  install -m 755 "$HERE/init" "$work/initramfs/init"
  install -m 755 "$HERE/udhcpc-event" "$work/initramfs/bin/udhcpc-event"
  for module in "${ROOT_MODULES[@]}"; do
    add_module "$module" "$work/kernel/lib/modules/$version"
  done
  printf '%s\n' "${modules[@]}" >"$work/initramfs/lib/modules/load-order"

  mkdir -p "$work/out"
  cp "$work/kernel/boot/vmlinuz-$version" "$work/out/vmlinuz"
  (cd "$work/initramfs" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$work/out/initrd.img")
  echo "$version" >"$work/out/kernel-version"

  # Renaming a complete folder into place means a reader never sees half an image.
  mkdir -p "$(dirname "$target")"
  mv "$work/out" "$target"
  log "built $target with kernel $version"
}

main() {
  local target
  [[ $EUID -eq 0 ]] || die "must run as root (apt-get download, dpkg -x)"
  if [[ ! -x $BUSYBOX ]] || ! busybox_version >/dev/null 2>&1; then
    die "busybox-static is not installed; run scripts/install-deps.sh"
  fi
  mkdir -p "$CACHE_DIR"
  trap clean_up EXIT
  target="$CACHE_DIR/$(recipe_hash)"

  # One build at a time per cache; a second caller waits and then finds the image.
  exec 9>"$CACHE_DIR/.lock"
  flock 9
  if [[ ! -f $target/initrd.img ]]; then
    build "$target"
  fi
  echo "$target"
}

main "$@"

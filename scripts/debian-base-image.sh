#!/usr/bin/env bash
# Build, once, the podman image localhost/enotconn-debian-base:bookworm: a Debian 12 rootfs from
# debootstrap (minbase, plus systemd so it can also boot /sbin/init), imported with podman (no
# registry is reachable). The rootfs is cached under /var/cache/enotconn; the image is cached by
# name, and a second run does nothing. The mirror is the one apt on this machine uses.
# Usage: scripts/debian-base-image.sh   (as root; prints the image name)
set -euo pipefail
IMAGE=localhost/enotconn-debian-base:bookworm
CACHE=/var/cache/enotconn/debian-bookworm-rootfs
PODMAN=(/usr/bin/podman --runtime runc)

if "${PODMAN[@]}" image exists "$IMAGE"; then echo "$IMAGE"; exit 0; fi
exec 9>/tmp/enotconn-debian-base.lock
flock 9
if "${PODMAN[@]}" image exists "$IMAGE"; then echo "$IMAGE"; exit 0; fi

if [[ ! -x "$CACHE/bin/sh" ]]; then
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [[ -z "$mirror" ]]; then mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true); fi
  if [[ -z "$mirror" ]]; then echo "debian-base-image: no Debian mirror in apt's sources" >&2; exit 1; fi
  rm -rf "$CACHE.tmp"
  mkdir -p "$(dirname "$CACHE")"
  /usr/sbin/debootstrap --variant=minbase --include=systemd,systemd-sysv bookworm "$CACHE.tmp" "$mirror" >&2
  rm -rf "$CACHE"
  mv "$CACHE.tmp" "$CACHE"
fi
tar -C "$CACHE" -c . | "${PODMAN[@]}" import - "$IMAGE" >&2
echo "$IMAGE"

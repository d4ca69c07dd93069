#!/bin/sh
# Builds the native probe helper (native/enotconn-helper.c, libc only) into native/build/, the way
# better-sqlite3 builds its addon at install time. Run by `npm install`/`npm ci` and `npm run build`.
# Without a C compiler, or if the build fails, enotconn uses the Node probe child instead: this
# script says so once and succeeds, so an install never fails for want of cc.
set -u
cd "$(dirname "$0")/.." || exit 0
CC="${CC:-cc}"
out=native/build/enotconn-helper
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "enotconn: no C compiler ($CC) found: probes will run in the Node probe child (slower start, more memory)" >&2
  exit 0
fi
mkdir -p native/build
if "$CC" -O2 -Wall -Wextra -std=c11 -pthread -D_FORTIFY_SOURCE=2 -fstack-protector-strong -Wl,-z,relro,-z,now -o "$out.tmp" native/enotconn-helper.c; then
  chmod 0755 "$out.tmp" && mv -f "$out.tmp" "$out"
else
  rm -f "$out.tmp"
  echo "enotconn: the native helper did not build: probes will run in the Node probe child" >&2
fi
exit 0

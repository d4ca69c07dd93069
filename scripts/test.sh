#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need, builds, checks format and
# lint, then runs every unit, fixture and live test in one node:test run, so its summary counts all.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. Debian packages, only those missing (live tests need real FUSE daemons, sshd, iptables...).
missing=()
while read -r pkg file; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  [[ -e "$file" ]] || missing+=("$pkg")
done < scripts/apt-packages.txt
if (( ${#missing[@]} > 0 )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "test.sh: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: WARNING: missing Debian packages (${missing[*]}) and cannot install them (not root);" \
      "the live tests that need them will be SKIPPED" >&2
  fi
fi

# Some live tests run enotconn as an unprivileged user (a user's own FUSE mounts, the Node probe
# child probing as a mount's owner): that user must reach this checkout. Say so up front, once,
# rather than leave three puzzling failures (mktemp -d and /root are 0700).
dir=$(pwd -P)
while [[ "$dir" != / ]]; do
  if [[ $(( 0$(stat -c %a "$dir") & 01 )) -eq 0 ]]; then
    echo "test.sh: WARNING: $dir is not searchable by other users (mode $(stat -c %a "$dir")); the live" \
      "tests that run as an unprivileged user will FAIL: clone into a directory others can traverse" \
      "(such as /srv or /opt), or run: chmod o+x $dir" >&2
    break
  fi
  dir=$(dirname "$dir")
done

# 2. Node dependencies and build.
if [[ "${ENOTCONN_SKIP_NPM_CI:-}" != 1 ]]; then
  npm ci --no-audit --no-fund
fi
rm -rf dist
npm run build

# 3. Format and lint are part of the test.
npx prettier --check .
npx eslint .

# 4. Every test, in one run: unit and fixture tests, then live ones (real FUSE, sshd, netns).
# Concurrency 1: live tests mount, kill and stop real daemons and must not race each other.
exec node --test --test-concurrency=1 --test-timeout=300000 dist/test/

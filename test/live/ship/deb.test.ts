// The .deb: built with dpkg-deb, lintian finds no error, and in a Debian 12 container (podman,
// runc, no network) `apt-get install ./enotconn_*.deb` installs a working enotconn with no Node,
// leaves the watch unit disabled, and `apt-get purge` leaves the file system as it was.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { REPO, requireBinary, tempDir } from '../../helpers/live.js';
import { runArgv } from '../../helpers/run-argv.js';
import { ensureDeb } from '../../helpers/ship-build.js';

const PODMAN = ['/usr/bin/podman', '--runtime', 'runc'];
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
let deb = '';

before(() => {
  deb = ensureDeb();
});

test('the .deb has the executable, the unit, config, man page and completions; lintian reports no error', async (t) => {
  assert.equal(path.basename(deb), `enotconn_${PKG.version}_amd64.deb`);
  const list = await runArgv(['/usr/bin/dpkg-deb', '--contents', deb]);
  assert.equal(list.code, 0);
  const files = list.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('d'))
    .map((l) => l.slice(l.indexOf('./') + 1));
  assert.deepEqual(files.sort(), [
    '/lib/systemd/system/enotconn-watch.service',
    '/usr/bin/enotconn',
    '/usr/lib/enotconn/enotconn-helper',
    '/usr/share/bash-completion/completions/enotconn',
    '/usr/share/doc/enotconn/changelog.gz',
    '/usr/share/doc/enotconn/copyright',
    '/usr/share/doc/enotconn/examples/config.yaml',
    '/usr/share/fish/vendor_completions.d/enotconn.fish',
    '/usr/share/lintian/overrides/enotconn',
    '/usr/share/man/man1/enotconn.1.gz',
    '/usr/share/zsh/vendor-completions/_enotconn',
  ]);
  assert.match(list.stdout, /^-rwxr-xr-x root\/root .* \.\/usr\/bin\/enotconn$/m);
  const control = await runArgv(['/usr/bin/dpkg-deb', '--field', deb, 'Package', 'Version', 'Architecture']);
  assert.equal(control.stdout, `Package: enotconn\nVersion: ${PKG.version}\nArchitecture: amd64\n`);
  // The man page and the bash completion from the package work as shipped.
  const x = tempDir(t, 'enc-ship-deb-');
  assert.equal((await runArgv(['/usr/bin/dpkg-deb', '-x', deb, x])).code, 0);
  const man = await runArgv(['/usr/bin/man', '-l', path.join(x, 'usr/share/man/man1/enotconn.1.gz')], {
    env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '100' },
  });
  assert.equal(man.code, 0);
  // eslint-disable-next-line no-control-regex
  assert.match(man.stdout.replace(/.\x08/g, ''), /^ENOTCONN\(1\)/);
  const bash = await runArgv([
    '/usr/bin/bash',
    '-c',
    `source ${path.join(x, 'usr/share/bash-completion/completions/enotconn')}; complete -p enotconn`,
  ]);
  assert.equal(bash.stdout, 'complete -F _enotconn enotconn\n');
  if (!requireBinary(t, 'lintian')) return;
  const lint = await runArgv(['/usr/bin/lintian', '--tag-display-limit', '0', deb], { timeoutMs: 300_000 });
  const errors = lint.stdout.split('\n').filter((l) => l.startsWith('E: '));
  assert.deepEqual(errors, [], lint.stdout);
});

test('in a Debian 12 container: apt installs it, scan works with no node, the unit is disabled, purge leaves nothing', async (t) => {
  if (!requireBinary(t, 'podman', 'runc', 'debootstrap')) return;
  const image = await runArgv(['/usr/bin/bash', path.join(REPO, 'scripts/debian-base-image.sh')], {
    timeoutMs: 600_000,
  });
  assert.equal(image.code, 0, image.stderr.slice(-2000));
  const name = image.stdout.trim();
  assert.equal(name, 'localhost/enotconn-debian-base:bookworm');
  const dir = tempDir(t, 'enc-ship-deb-');
  const script = path.join(dir, 't.sh');
  fs.writeFileSync(
    script,
    [
      'set -e',
      // Everything but logs, caches and apt's and dpkg's own bookkeeping.
      'snap() { find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \\) -prune -o -print | sort; }',
      'snap > /tmp/before',
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get install -y --no-install-recommends /pkg/enotconn.deb > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }',
      'echo "node: $(command -v node || echo none)"',
      'echo "enotconn: $(command -v enotconn)"',
      'enotconn --version',
      'set +e; enotconn scan --json > /tmp/scan.json; echo "scan: $?"; set -e',
      'echo "no mounts: $(grep -c \'"mounts": \\[\\]\' /tmp/scan.json)"',
      'echo "unit: $(systemctl is-enabled enotconn-watch.service 2>&1 || true)"',
      'bash -c "source /usr/share/bash-completion/completions/enotconn; complete -p enotconn"',
      // State enotconn writes at run time goes too.
      'mkdir -p /var/lib/enotconn && echo x > /var/lib/enotconn/enotconn.db',
      'apt-get purge -y enotconn > /tmp/purge.log 2>&1 || { cat /tmp/purge.log; exit 1; }',
      'snap > /tmp/after',
      'echo "left: $(diff /tmp/before /tmp/after | grep -c "^[<>]" || true)"',
      'diff /tmp/before /tmp/after || true',
      'echo "dpkg: $(dpkg-query -W -f="\\${Status}" enotconn 2>&1 || true)"',
      '',
    ].join('\n'),
  );
  const r = await runArgv(
    [
      ...PODMAN,
      'run',
      '--rm',
      '--network',
      'none',
      // podman's default limits exceed this machine's hard limits (runc: setrlimit EPERM).
      '--ulimit',
      'nofile=4096:4096',
      '--ulimit',
      'nproc=4096:4096',
      '-v',
      `${deb}:/pkg/enotconn.deb:ro`,
      '-v',
      `${script}:/t.sh:ro`,
      name,
      '/bin/bash',
      '/t.sh',
    ],
    { timeoutMs: 300_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(
    r.stdout,
    [
      'node: none',
      'enotconn: /usr/bin/enotconn',
      PKG.version,
      'scan: 0',
      'no mounts: 1',
      'unit: disabled',
      'complete -F _enotconn enotconn',
      'left: 0',
      'dpkg: dpkg-query: no packages found matching enotconn',
      '',
    ].join('\n'),
  );
});

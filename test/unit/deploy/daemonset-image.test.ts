// deploy/kubernetes/daemonset.yaml, its README and the image agree: the DaemonSet runs the image
// `npm run image` tags, and every hostPath it mounts is documented in the README, at the same path
// inside the pod.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../../helpers/live.js';
import { imageName } from '../../helpers/image-build.js';

interface Volume {
  name: string;
  hostPath?: { path: string };
}
interface VolumeMount {
  name: string;
  mountPath: string;
  mountPropagation?: string;
}
interface Container {
  name: string;
  image: string;
  args: string[];
  volumeMounts: VolumeMount[];
  securityContext?: { privileged?: boolean };
}
interface PodSpec {
  hostPID?: boolean;
  hostNetwork?: boolean;
  containers: Container[];
  volumes: Volume[];
}

const DIR = path.join(REPO, 'deploy/kubernetes');

function daemonSet(): PodSpec {
  const docs = parseAllDocuments(fs.readFileSync(path.join(DIR, 'daemonset.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; spec?: { template: { spec: PodSpec } } },
  );
  const ds = docs.filter((d) => d.kind === 'DaemonSet');
  assert.equal(ds.length, 1);
  return ds[0]!.spec!.template.spec;
}

test('the DaemonSet runs the image npm run image tags, privileged, with hostPID', () => {
  const spec = daemonSet();
  assert.equal(spec.containers.length, 1);
  const c = spec.containers[0]!;
  const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(imageName(), `ghcr.io/enotconn/enotconn:${version}`);
  assert.equal(c.image, imageName());
  assert.equal(spec.hostPID, true);
  assert.equal(spec.hostNetwork, true);
  assert.equal(c.securityContext?.privileged, true);
  // The image's entrypoint is the executable: the DaemonSet passes the command line only.
  assert.deepEqual(c.args.slice(0, 1), ['watch']);
  const containerfile = fs.readFileSync(path.join(REPO, 'deploy/container/Containerfile'), 'utf8');
  assert.match(containerfile, /^ENTRYPOINT \["\/usr\/bin\/enotconn"\]$/m);
  assert.match(containerfile, /^FROM localhost\/enotconn-debian-base:bookworm$/m);
});

test('every hostPath the DaemonSet mounts is in the README, at the same path in the pod', () => {
  const spec = daemonSet();
  const readme = fs.readFileSync(path.join(DIR, 'README.md'), 'utf8');
  const mounts = new Map(spec.containers[0]!.volumeMounts.map((m) => [m.name, m]));
  const hostPaths = spec.volumes.filter((v) => v.hostPath !== undefined);
  assert.deepEqual(hostPaths.map((v) => v.hostPath!.path).sort(), [
    '/data',
    '/dev/fuse',
    '/dev/kmsg',
    '/mnt',
    '/run/enotconn',
    '/run/systemd',
    '/sys/fs/fuse/connections',
    '/var/lib/enotconn',
    '/var/lib/kubelet',
  ]);
  for (const v of hostPaths) {
    const p = v.hostPath!.path;
    const m = mounts.get(v.name);
    assert.ok(m, `${v.name} is mounted`);
    assert.equal(m.mountPath, p, `${v.name} is at the same path inside the pod`);
    // The README's table has a row for it whose second cell is the same path in the pod.
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${p}\` |`));
    assert.ok(row, `README documents ${p}`);
    const cells = row.split('|').map((x) => x.trim());
    assert.match(
      cells[2] ?? '',
      new RegExp(`^\`${p.replace(/\//g, '\\/')}\``),
      `README row for ${p} names the pod path`,
    );
    // The mount roots propagate both ways; the README says so for exactly those.
    assert.equal(
      cells[3],
      m.mountPropagation === 'Bidirectional' ? 'Bidirectional' : 'none',
      `README propagation for ${p}`,
    );
  }
});

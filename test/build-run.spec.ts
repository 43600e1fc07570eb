/**
 * What a RUN leaves in its layer, as BuildKit: the /dev, /proc and /sys directories the runtime
 * needed on a rootfs without them stay (BuildKit's layer keeps them); the placeholders for
 * /etc/hosts, /etc/resolv.conf and the RUN's own mount targets are removed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, tmp } from './helpers/index.js';
import { canBuild } from './helpers/rootless.js';
import { buildOk, context, layerEntries } from './helpers/build.js';

describe.skipIf(!canBuild)('build: RUN layer contents', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
  });

  it('a RUN on a rootfs without /dev, /proc, /sys keeps those dirs, drops the hosts/resolv.conf and mount placeholders', async () => {
    const df = `FROM busybox AS bb
FROM scratch
COPY --from=bb /bin/busybox /bin/busybox
RUN --mount=type=tmpfs,target=/scratchmnt ["/bin/busybox", "sh", "-c", "/bin/busybox echo hi > /made"]
`;
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'runlayer:t']);
    const layers = await layerEntries(root, 'runlayer:t');
    const run = layers[layers.length - 1].map((e) => e.path.replace(/\/$/, '')).sort();
    expect(run).toEqual(['dev', 'made', 'proc', 'sys']);
  });
});

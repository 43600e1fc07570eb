/**
 * Metadata instructions land in the image config exactly as BuildKit writes them: Env, Cmd and
 * Entrypoint with the SHELL / JSON rules (ENTRYPOINT resets a Cmd inherited from the base),
 * WorkingDir, User, ExposedPorts, Volumes, Labels (+ --label), StopSignal, Healthcheck, OnBuild,
 * Author; history entries per instruction with `empty_layer` and BuildKit's `created_by` texts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, context, imageConfig, runInImage } from './helpers/build.js';

const DOCKERFILE = `FROM busybox
SHELL ["/bin/sh", "-ec"]
ENV A=1 B="two words"
ENV C=\${A}-x
LABEL org.example.k=v "other"="val $A"
EXPOSE 80 443/tcp 53/udp 8000-8001
VOLUME /data /logs
USER app
WORKDIR work
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q localhost || exit 1
MAINTAINER someone
CMD echo "hi $A"
ONBUILD RUN echo triggered
RUN echo layer > /tmp/x
`;

describe.skipIf(!isRoot)('build: metadata', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    await buildOk(root, context({ Dockerfile: DOCKERFILE }), ['-t', 'meta:t', '--label', 'from.cli=yes']);
  });

  it('writes every metadata instruction into the config', async () => {
    const cfg = await imageConfig(root, 'meta:t');
    const c = cfg.config ?? {};
    expect(c.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=two words', 'C=1-x']);
    expect(c.Shell).toEqual(['/bin/sh', '-ec']);
    expect(c.Cmd).toEqual(['/bin/sh', '-ec', 'echo "hi $A"']);
    expect(c.ArgsEscaped).toBe(true);
    expect(c.Labels).toEqual({ 'org.example.k': 'v', other: 'val 1', 'from.cli': 'yes' });
    expect(Object.keys(c.ExposedPorts ?? {}).sort()).toEqual(['443/tcp', '53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
    expect(c.Volumes).toEqual({ '/data': {}, '/logs': {} });
    expect(c.User).toBe('app');
    expect(c.WorkingDir).toBe('/work');
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Interval: 30e9, Timeout: 3e9, Retries: 3 });
    expect(c.OnBuild).toEqual(['RUN echo triggered']);
    expect(cfg.author).toBe('someone');
    expect(cfg.architecture).toBeTruthy();
    expect(cfg.os).toBe('linux');
    expect(cfg.created).toMatch(/^\d{4}-/);
  });

  it('writes history entries like BuildKit (empty_layer, created_by, # buildkit)', async () => {
    const cfg = await imageConfig(root, 'meta:t');
    const h = (cfg.history ?? []).slice(1).map((e) => [e.created_by, !!e.empty_layer]);
    expect(h).toEqual([
      ['SHELL [/bin/sh -ec]', true],
      ['ENV A=1 B=two words', true],
      ['ENV C=1-x', true],
      ['LABEL org.example.k=v other=val 1', true],
      ['EXPOSE map[443/tcp:{} 53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]', true],
      ['VOLUME [/data /logs]', true],
      ['USER app', true],
      ['WORKDIR /work', false],
      ['STOPSIGNAL SIGQUIT', true],
      ['HEALTHCHECK &{["CMD-SHELL" "wget -q localhost || exit 1"] "30s" "3s" "0s" "0s" \'\\x03\'}', true],
      ['MAINTAINER someone', true],
      ['CMD ["/bin/sh" "-ec" "echo \\"hi $A\\""]', true],
      ['RUN /bin/sh -ec echo layer > /tmp/x # buildkit', false],
    ]);
    for (const e of (cfg.history ?? []).slice(1)) expect(e.comment).toBe('buildkit.dockerfile.v0');
    const layers = (cfg.history ?? []).filter((e) => !e.empty_layer).length;
    expect(layers).toBe(cfg.rootfs.diff_ids.length);
  });

  it('runs RUN as USER with the SHELL and the WORKDIR, owned by the user', async () => {
    const df = `FROM busybox
USER app
WORKDIR /home/app/made
RUN id -u > uid && pwd > pwd
`;
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'meta:user']);
    const r = await runInImage(root, 'meta:user', ['sh', '-c', 'cat uid pwd; stat -c %u .']);
    expect(r.output).toBe('1000\n/home/app/made\n1000\n');
  });

  it('ENTRYPOINT resets a Cmd inherited from the base; CMD after it in the same stage is kept', async () => {
    await buildOk(root, context({ Dockerfile: 'FROM busybox\nENTRYPOINT ["echo"]\n' }), ['-t', 'meta:ep']);
    const ep = (await imageConfig(root, 'meta:ep')).config ?? {};
    expect(ep.Entrypoint).toEqual(['echo']);
    expect(ep.Cmd).toBeUndefined(); // busybox's CMD ["sh"] is gone
    await buildOk(root, context({ Dockerfile: 'FROM busybox\nCMD ["a"]\nENTRYPOINT echo x\n' }), ['-t', 'meta:ep2']);
    const ep2 = (await imageConfig(root, 'meta:ep2')).config ?? {};
    expect(ep2.Entrypoint).toEqual(['/bin/sh', '-c', 'echo x']);
    expect(ep2.Cmd).toEqual(['a']);
    // FROM scratch: BuildKit's empty image defaults
    await buildOk(root, context({ Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'x' }), ['-t', 'meta:scratch']);
    const sc = await imageConfig(root, 'meta:scratch');
    expect(sc.config?.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    expect(sc.config?.WorkingDir).toBe('/');
    expect(sc.rootfs.diff_ids).toHaveLength(1);
  });
});

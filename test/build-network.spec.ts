/**
 * Networks of RUN steps and containers: `host` (the caller's network: the host's 127.0.0.1 is
 * reachable), `none` (only lo) and `slirp4netns` (a network namespace of its own, user-mode NAT to the
 * host's network: the host's non-loopback addresses are reachable, its 127.0.0.1 is not, neither
 * directly nor through slirp's gateway 10.0.2.2). Two local HTTP servers stand in for "a service on
 * the host's loopback" and "the outside" (a non-loopback address of this host); no internet.
 * Runs as whoever runs the specs (root, or the rootless pass of .ci/run), and as root also as the
 * ranged rootless user (test/helpers/rootless.ts).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar, runCli, tmp, type CliResult } from './helpers/index.js';
import { context } from './helpers/build.js';
import { RANGED_USER, canBuild, chownTo, rootlessPass, runCliAs, userReady, userTmp } from './helpers/rootless.js';

const outside = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
const hasSlirp = ['/usr/bin/slirp4netns', '/usr/local/bin/slirp4netns'].some((p) => existsSync(p));

function serve(host: string): Promise<Server> {
  return new Promise((res) => {
    const s = createServer((_q, r) => r.end(`hello from ${host}\n`));
    s.listen(0, host, () => res(s));
  });
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;

let loop: Server;
let out: Server;
beforeAll(async () => {
  loop = await serve('127.0.0.1');
  if (outside) out = await serve(outside);
});
afterAll(() => {
  loop?.close();
  out?.close();
});

/** A RUN (or a container's command) that says, per target, `REACHED name` or `NOT name`. */
function probeScript(): string {
  const targets = [`loopback=127.0.0.1:${portOf(loop)}`, `gateway=10.0.2.2:${portOf(loop)}`, `outside=${outside}:${portOf(out)}`];
  return `for t in ${targets.join(' ')}; do n=\${t%%=*}; a=\${t#*=}; if printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc \${a%:*} \${a#*:} 2>/dev/null | grep -q '^hello from'; then echo "REACHED $n"; else echo "NOT $n"; fi; done; echo "IFACES $(ls /sys/class/net | tr '\\n' ' ')"; grep -m1 nameserver /etc/resolv.conf`;
}

const reached = (output: string) => [...output.matchAll(/(REACHED|NOT) (\w+)/g)].map((m) => `${m[1]} ${m[2]}`).sort();

type Runner = (args: string[], env?: Record<string, string>) => Promise<CliResult>;

function networkCases(title: string, setup: () => Promise<{ run: Runner; ctx: (df: string) => string }>) {
  describe.skipIf(!outside || !canBuild)(title, () => {
    let run: Runner;
    let ctx: (df: string) => string;
    beforeAll(async () => {
      ({ run, ctx } = await setup());
    }, 120_000);

    const build = async (df: string, args: string[]) => {
      const r = await run(['build', '--progress', 'plain', '--no-cache', ...args, ctx(df)]);
      expect(r.code, r.stderr).toBe(0);
      return r.stderr + r.stdout;
    };
    const RUN = () => `FROM busybox\nRUN ${probeScript()}\n`;

    it('host (the default): the host loopback and the outside are reachable', async () => {
      const o = await build(RUN(), []);
      expect(reached(o)).toEqual(['NOT gateway', 'REACHED loopback', 'REACHED outside']);
      const h = await build(RUN(), ['--network', 'host']);
      expect(reached(h)).toEqual(['NOT gateway', 'REACHED loopback', 'REACHED outside']);
    });

    it("the build's --network is part of a RUN's cache key (BuildKit hashes the ExecOp's network mode)", async () => {
      const dir = ctx(`FROM busybox\nRUN echo keyed-by-network > /k\n`);
      const once = async (args: string[]) => {
        const r = await run(['build', '--progress', 'plain', ...args, dir]);
        expect(r.code, r.stderr).toBe(0);
        return /\[2\/2\] RUN echo keyed-by-network[^\n]*\n#\d+ CACHED/.test(r.stderr);
      };
      await once([]);
      expect(await once([])).toBe(true);
      expect(await once(['--network', 'none'])).toBe(false);
      expect(await once(['--network', 'none'])).toBe(true);
      expect(await once(['--network', 'default'])).toBe(true); // the worker's default: the first build's key
    });

    it('--network none and RUN --network=none: only lo, nothing reachable', async () => {
      const o = await build(RUN(), ['--network', 'none']);
      expect(reached(o)).toEqual(['NOT gateway', 'NOT loopback', 'NOT outside']);
      expect(o).toMatch(/IFACES lo \n/);
      const r = await build(`FROM busybox\nRUN --network=none ${probeScript()}\n`, []);
      expect(reached(r)).toEqual(['NOT gateway', 'NOT loopback', 'NOT outside']);
    });

    it.skipIf(!hasSlirp)('--network slirp4netns: the outside is reachable, the host loopback is not (not through the gateway either)', async () => {
      const o = await build(RUN(), ['--network', 'slirp4netns']);
      expect(reached(o)).toEqual(['NOT gateway', 'NOT loopback', 'REACHED outside']);
      expect(o).toMatch(/IFACES lo tap0 \n/);
      expect(o).toMatch(/nameserver 10\.0\.2\.3/);
      // RUN --network=none still wins over the build's network; no slirp4netns is left behind
      const r = await build(`FROM busybox\nRUN --network=none ${probeScript()}\n`, ['--network', 'slirp4netns']);
      expect(reached(r)).toEqual(['NOT gateway', 'NOT loopback', 'NOT outside']);
      // STAGECRAFT_NETWORK changes the default
      const d = await run(['build', '--progress', 'plain', '--no-cache', ctx(RUN())], { STAGECRAFT_NETWORK: 'slirp4netns' });
      expect(d.code, d.stderr).toBe(0);
      expect(reached(d.stderr)).toEqual(['NOT gateway', 'NOT loopback', 'REACHED outside']);
    });

    it.skipIf(!hasSlirp)('run --network slirp4netns / none / host', async () => {
      const probe = probeScript();
      const s = await run(['run', '--rm', '--network', 'slirp4netns', 'busybox', 'sh', '-c', probe]);
      expect(s.code, s.stderr).toBe(0);
      expect(reached(s.stdout)).toEqual(['NOT gateway', 'NOT loopback', 'REACHED outside']);
      const n = await run(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', probe]);
      expect(reached(n.stdout)).toEqual(['NOT gateway', 'NOT loopback', 'NOT outside']);
      const h = await run(['run', '--rm', 'busybox', 'sh', '-c', probe]);
      expect(reached(h.stdout)).toEqual(['NOT gateway', 'REACHED loopback', 'REACHED outside']);
      const bad = await run(['build', '--network', 'bridge0', ctx(RUN())]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^invalid --network "bridge0" \(default, host, none, slirp4netns\)$/m);
    });
  });
}

// as whoever runs the specs: root, or the rootless pass' user (the CLI enters its user namespace)
networkCases(`RUN network, as ${rootlessPass ? 'the rootless pass user' : 'root'}`, async () => {
  const root = tmp('sc-net-');
  const r = await runCli(['import', busyboxRootfsTar(), 'busybox:latest', '--change', 'CMD ["sh"]'], { root });
  expect(r.code, r.stderr).toBe(0);
  return { run: (args, env) => runCli(args, { root, env, timeoutMs: 300_000 }), ctx: (df) => context({ Dockerfile: df }) };
});

if (canBuild && !rootlessPass && userReady(RANGED_USER, true)) {
  networkCases(`RUN network, rootless as ${RANGED_USER}`, async () => {
    const root = userTmp(RANGED_USER, 'sc-net-rl-');
    const r = await runCliAs(RANGED_USER, ['import', busyboxRootfsTar(), 'busybox:latest', '--change', 'CMD ["sh"]'], { root });
    expect(r.code, r.stderr).toBe(0);
    return {
      run: (args, env) => runCliAs(RANGED_USER, args, { root, env }),
      ctx: (df) => {
        const c = context({ Dockerfile: df });
        chownTo(RANGED_USER, c);
        return c;
      },
    };
  });
}

/**
 * Secrets in any layer: a private key and an `.npmrc` token added by RUN steps and deleted by a later
 * one are still in the image (the earlier layers keep the bytes); `analyze` reports both with the
 * layer and Dockerfile line that added them and the layer that hid them, plus a `.env` still visible.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOk, context } from './helpers/build.js';
import { cli, importBusybox, tmp } from './helpers/index.js';

const root = tmp('sc-secrets-');
const DOCKERFILE = `FROM busybox:latest
RUN mkdir -p /root/.ssh && printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----\\n' > /root/.ssh/id_ed25519
WORKDIR /app
RUN echo '//registry.npmjs.org/:_authToken=npm_0123456789abcdef' > /app/.npmrc && echo ok > /app/x
RUN rm -rf /root/.ssh /app/.npmrc
COPY .env /app/.env
COPY README /app/README
`;

interface SecretJ { what: string; path: string; layer: number; line?: number; instruction: string; visible: boolean; hiddenBy?: number; hiddenHow?: string }

beforeAll(async () => {
  await importBusybox(root);
  const ctx = context({ Dockerfile: DOCKERFILE, '.env': 'DATABASE_PASSWORD=hunter2\n', README: 'no secrets here\n' });
  await buildOk(root, ctx, ['-t', 'leaky:1']);
}, 300_000);

describe('secrets in every layer', () => {
  it('reports a deleted key and npm token with the layer that added them and the one that deleted them', async () => {
    const j = JSON.parse((await cli(['analyze', 'leaky:1', '--format', 'json'], { root })).stdout) as { secrets: SecretJ[]; layers: Array<{ index: number; line?: number }>; leaks: Array<{ kind: string; what: string; path: string; layer: number }> };
    const at = (line: number) => j.layers.find((l) => l.line === line)?.index;
    const key = j.secrets.find((s) => s.path === '/root/.ssh/id_ed25519');
    expect(key).toMatchObject({ what: 'private key', layer: at(2), line: 2, visible: false, hiddenBy: at(5), hiddenHow: 'deleted' });
    expect(key?.instruction).toMatch(/^RUN mkdir -p \/root\/\.ssh/);
    const npmrc = j.secrets.find((s) => s.path === '/app/.npmrc');
    expect(npmrc).toMatchObject({ what: 'npm auth token', layer: at(4), line: 4, visible: false, hiddenBy: at(5) });
    expect(j.secrets.find((s) => s.path === '/app/.env')).toMatchObject({ what: 'environment file', layer: at(6), visible: true });
    expect(j.secrets.map((s) => s.path).sort()).toEqual(['/app/.env', '/app/.npmrc', '/root/.ssh/id_ed25519']);
    // the deleted ones are baggage too: anyone who pulls the image can read them
    expect(j.leaks.filter((l) => l.kind === 'secret').map((l) => `${l.path}@${l.layer}`).sort()).toEqual([`/app/.env@${at(6)}`, `/app/.npmrc@${at(4)}`, `/root/.ssh/id_ed25519@${at(2)}`]);
  });
  it('text output says where each secret still is', async () => {
    const t = (await cli(['analyze', 'leaky:1'], { root })).stdout;
    expect(t).toMatch(/^private key\s+\/root\/\.ssh\/id_ed25519\s+\S+B\s+1\s+deleted by layer 4, still in layer 1\s+RUN mkdir/m);
    expect(t).toMatch(/^npm auth token\s+\/app\/\.npmrc\s+\S+B\s+3\s+deleted by layer 4, still in layer 3\s+RUN echo/m);
  });
});

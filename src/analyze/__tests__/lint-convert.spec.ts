import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../dockerfile/index.js';
import { planBuild } from '../../plan/index.js';
import { convertToMultiStage } from '../convert.js';

describe('convert', () => {
  const example = join(import.meta.dirname, '../../../examples/fruit-cost');
  it('turns the example single-stage Dockerfile into a build stage and a slim final stage', () => {
    const df = parseDockerfile(readFileSync(join(example, 'Dockerfile.single'), 'utf8'), { file: 'Dockerfile.single' });
    const r = convertToMultiStage(df, { packageJson: readFileSync(join(example, 'package.json'), 'utf8'), tsconfig: readFileSync(join(example, 'tsconfig.json'), 'utf8') });
    expect(r.ecosystem).toBe('node');
    expect(r.artifacts).toEqual(['/app/dist']);
    const out = parseDockerfile(r.text);
    expect(out.stages.map((s) => s.name)).toEqual(['build', undefined]);
    const final = out.stages[1].instructions.map((i) => i.original);
    expect(final).toContain('COPY --from=build /app/dist /app/dist');
    expect(final.some((l) => l.includes('npm ci'))).toBe(false); // no runtime dependencies
    expect(final[final.length - 1]).toBe('CMD ["node", "dist/app.js"]');
    expect(out.stages[0].instructions.some((i) => i.kind === 'CMD')).toBe(false);
    const plan = planBuild(out, {});
    expect(plan.stages.every((s) => s.needed)).toBe(true);
  });
  it('keeps secret mounts and omits devDependencies when the app has runtime dependencies', () => {
    const df = parseDockerfile(`FROM node:20
WORKDIR /app
COPY package*.json ./
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci
COPY . .
RUN npm run build
EXPOSE 8080
CMD ["node", "build/server.js"]
`);
    const r = convertToMultiStage(df, { packageJson: '{"dependencies":{"express":"4"}}', tsconfig: '{"compilerOptions":{"outDir":"build"}}' });
    expect(r.text).toContain('RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --omit=dev --no-audit --no-fund && npm cache clean --force');
    expect(r.text).toContain('COPY --from=build /app/build /app/build');
    expect(r.text.trimEnd().split('\n').slice(-2)).toEqual(['EXPOSE 8080', 'CMD ["node", "build/server.js"]']);
  });
  it('python: installs into a prefix and copies it, like the seed intends', () => {
    const df = parseDockerfile(`FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py .
CMD ["python", "app.py"]
`);
    const r = convertToMultiStage(df);
    expect(r.ecosystem).toBe('python');
    expect(r.text).toContain('RUN pip install --prefix=/install --no-cache-dir -r requirements.txt');
    const final = parseDockerfile(r.text).stages[1].instructions.map((i) => i.original);
    expect(final).toEqual(['WORKDIR /app', 'COPY --from=build /install /usr/local', 'COPY app.py .', 'CMD ["python", "app.py"]']);
  });
  it('go: copies the binary; refuses a Dockerfile that is already multi-stage with a position', () => {
    const r = convertToMultiStage(parseDockerfile('FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app ./cmd/app\nENTRYPOINT ["/out/app"]\n'));
    expect(r.text).toContain('COPY --from=build /out/app /out/app');
    expect(() => convertToMultiStage(parseDockerfile('FROM a\nFROM b\n', { file: 'D' }))).toThrow(/already has 2 stages/);
  });
});

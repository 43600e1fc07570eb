/**
 * What convert knows about well-known base images. In: the FROM image text (may hold `${ARG}`s).
 * Out: the runtime the image ships (node, python, go, java…) and its slim variant, when the
 * official image has one (`node:20` → `node:20-slim`, `python:3.12-bookworm` →
 * `python:3.12-slim-bookworm`, `debian:bookworm` → `debian:bookworm-slim`). Digest-pinned and
 * already-small tags (slim, alpine, distroless) keep their image.
 */

export type Runtime = 'node' | 'python' | 'go' | 'java' | 'ruby';

interface ImageParts {
  /** everything before the repository's last path component (`docker.io/library/`) */
  prefix: string;
  repo: string;
  tag: string | undefined;
}

function splitImage(image: string): ImageParts | undefined {
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const prefix = image.slice(0, slash + 1);
  const last = image.slice(slash + 1);
  const colon = last.indexOf(':');
  return colon < 0 ? { prefix, repo: last, tag: undefined } : { prefix, repo: last.slice(0, colon), tag: last.slice(colon + 1) };
}

/** Official images only: docker.io/library/X, library/X or X. */
function official(p: ImageParts): boolean {
  return p.prefix === '' || /^(docker\.io\/|index\.docker\.io\/|registry-1\.docker\.io\/)?(library\/)?$/.test(p.prefix);
}

const RUNTIME_OF: Record<string, Runtime> = { node: 'node', python: 'python', pypy: 'python', golang: 'go', 'eclipse-temurin': 'java', openjdk: 'java', amazoncorretto: 'java', ruby: 'ruby', maven: 'java', gradle: 'java' };

/** The language runtime the base image ships, if it is a well-known language image. */
export function imageRuntime(image: string): Runtime | undefined {
  const p = splitImage(image);
  if (!p) return RUNTIME_OF[image.replace(/@.*$/, '').replace(/^.*\//, '').replace(/:.*$/, '')];
  return RUNTIME_OF[p.repo];
}

const SMALL = /(^|-)(slim|alpine|distroless|minimal|jre|musl)(\d|-|$)/;

/** The slim variant of an official image, or undefined when there is none to switch to. */
export function slimVariant(image: string): string | undefined {
  const p = splitImage(image);
  if (!p || !official(p)) return undefined;
  const tag = p.tag ?? 'latest';
  if (SMALL.test(tag) || tag.startsWith('windowsservercore') || tag.startsWith('nanoserver')) return undefined;
  const at = (t: string) => `${p.prefix}${p.repo}:${t}`;
  switch (p.repo) {
    case 'node':
      // node:20 → node:20-slim, node:20-bookworm → node:20-bookworm-slim, node (latest) → node:slim
      return at(tag === 'latest' ? 'slim' : `${tag}-slim`);
    case 'python':
    case 'ruby': {
      // python:3.12-bookworm → python:3.12-slim-bookworm; python:3.12 → python:3.12-slim
      if (tag === 'latest') return at('slim');
      const m = /^(.*?)-(bookworm|bullseye|buster|trixie)$/.exec(tag);
      return at(m ? `${m[1]}-slim-${m[2]}` : `${tag}-slim`);
    }
    case 'debian':
      return /^(bookworm|bullseye|buster|trixie|1[0-3])$/.test(tag) ? at(`${tag}-slim`) : undefined;
    case 'eclipse-temurin': {
      // eclipse-temurin:21-jdk → eclipse-temurin:21-jre, 21 → 21-jre
      if (/(^|-)jdk(-|$)/.test(tag)) return at(tag.replace(/(^|-)jdk(-|$)/, '$1jre$2'));
      return /^[\d.]+$/.test(tag) ? at(`${tag}-jre`) : undefined;
    }
    default:
      return undefined;
  }
}

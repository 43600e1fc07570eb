/**
 * `docker-daemon:NAME`: an image in a Docker Engine, read as dive's docker source reads it — the
 * Engine API's `GET /images/{name}/get` (what `docker save` calls) over the daemon's unix socket,
 * streamed once through the archive reader; nothing is written to disk. The socket is
 * `$DOCKER_HOST` when that is a `unix://` address, else /var/run/docker.sock.
 */
import type { IncomingMessage } from 'node:http';
import { UserError } from '../util/errors.js';
import { streamedArchive } from './archive.js';
import type { ImageSource } from './types.js';
import { lazyBuiltin } from '../util/builtin.js';

const http = lazyBuiltin<typeof import('node:http')>('node:http');

export function dockerSocket(): string {
  const h = process.env.DOCKER_HOST;
  if (!h) return '/var/run/docker.sock';
  if (h.startsWith('unix://')) return h.slice('unix://'.length);
  throw new UserError(`DOCKER_HOST=${h}: only unix:// sockets are supported for docker-daemon: sources`);
}

/** GET `path` from the Engine API; a non-2xx answer becomes docker's "Error response from daemon". */
export function engineGet(path: string): Promise<IncomingMessage> {
  const socketPath = dockerSocket();
  return new Promise((resolve, reject) => {
    const req = http().get({ socketPath, path, headers: { host: 'docker' } }, (res) => {
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8');
        let msg = body.trim();
        try {
          msg = (JSON.parse(body) as { message?: string }).message ?? msg;
        } catch {
          /* not JSON: the text as sent */
        }
        reject(new UserError(`Error response from daemon: ${msg || `HTTP ${res.statusCode}`}`));
      });
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK'].includes(e.code ?? '')) {
        reject(new UserError(`Cannot connect to the Docker daemon at unix://${socketPath}. Is the docker daemon running?${e.code === 'EACCES' ? ' (permission denied)' : ''}`));
      } else reject(e);
    });
  });
}

export function daemonSource(name: string): ImageSource {
  if (!name) throw new UserError('docker-daemon: needs an image name (docker-daemon:NAME)');
  return streamedArchive('docker-daemon', `docker-daemon:${name}`, () => engineGet(`/images/${encodeURIComponent(name)}/get`));
}

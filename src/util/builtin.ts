/**
 * Node built-ins that only some commands use (http/https/tls, zlib, worker_threads), loaded on first
 * use: a static import is evaluated at start-up by every command whose code shares a chunk with it
 * (a no-op `build` does not talk to a registry or compress anything).
 */
import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);

/** `lazyBuiltin<typeof import('node:zlib')>('node:zlib')()` is node:zlib, loaded on the first call. */
export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let m: T | undefined;
  return () => (m ??= req(name) as T);
}

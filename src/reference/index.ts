/**
 * Image references and platforms, pure: text in, typed values out.
 * - `reference.ts`: THE image-reference parser (Docker's distribution/reference normalisation:
 *   `busybox` → `docker.io/library/busybox:latest`; 64-hex names, digest algorithms and the
 *   255-character name limit as Docker checks them).
 * - `refs.ts`: the store's familiar names (`busybox:latest`), made from that parser.
 * - `platform.ts`: THE platform module (`linux/arm64/v8` ↔ Platform, containerd's normalisation,
 *   manifest-list selection).
 */
export {
  parseReference,
  tryParseReference,
  withTagOrDigest,
  apiHost,
  authConfigKey,
  normalizeRegistryHost,
  DEFAULT_DOMAIN,
  type Reference,
} from './reference.js';
export { normalizeRef, normalizeTag, parseRef, splitRef, qualifiedRef, type ParsedRef } from './refs.js';
export { parsePlatform, normalizePlatform, formatPlatform, platformMatches, selectManifest } from './platform.js';

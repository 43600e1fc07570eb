/**
 * Image references: how a name like `busybox`, `localhost:5000/app:1` or `x@sha256:...` is read,
 * normalised and printed. `refs.ts`: the store's familiar names (always tagged). Pure.
 */
export { normalizeRef, normalizeTag, parseRef, splitRef, qualifiedRef, type ParsedRef } from './refs.js';

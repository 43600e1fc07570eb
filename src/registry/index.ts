/**
 * The registry client's public API: references in Docker's grammar, pull into and push from the
 * local store over the OCI distribution API, and Docker-compatible login/logout. See the modules:
 * `reference` (parsing), `http` (transport, TLS, retries), `auth` (config file, helpers, tokens),
 * `client` (one registry's endpoints), `pull`, `push`, `login`, `progress`, `platform`.
 */
export { parseReference, tryParseReference, normalizeRegistryHost, DEFAULT_DOMAIN, type Reference } from '../reference/reference.js';
export { pull, pullImage, type PullOptions, type PullResult } from './pull.js';
export { pushImage, type PushOptions, type PushResult } from './push.js';
export { login, logout, type LoginOptions } from './login.js';
export { RegistryClient, type ClientOptions } from './client.js';
export { getCredentials, dockerConfigPath, parseWwwAuthenticate, type Credentials } from './auth.js';
export { createProgress, silentProgress, LineProgress, BarProgress, type ProgressSink } from './progress.js';
export { parsePlatform, formatPlatform, selectManifest } from '../reference/platform.js';

/**
 * `login` / `logout`: credentials in, Docker's config file (or credential helper) updated out.
 * Login first proves the credentials against the registry (`GET /v2/` through the same 401
 * handling as pulls: basic, or a token fetched with them), then saves them exactly where
 * `docker login` would, so either tool can use the session.
 */
import { UserError } from '../util/errors.js';
import { displayRegistry, eraseCredentials, storeCredentials } from './auth.js';
import { RegistryClient } from './client.js';
import { DEFAULT_DOMAIN, normalizeRegistryHost } from '../reference/reference.js';

export interface LoginOptions {
  insecureRegistries?: string[];
}

/** Verifies and saves credentials; returns the config file (or helper) they went to. */
export async function login(server: string | undefined, username: string, password: string, opts: LoginOptions = {}): Promise<{ registry: string; savedIn: string }> {
  const registry = server ? normalizeRegistryHost(server) : DEFAULT_DOMAIN;
  if (!username) throw new UserError('login: a username is required');
  if (!password) throw new UserError('login: a password is required');
  const client = new RegistryClient(registry, { credentials: { username, password }, insecureRegistries: opts.insecureRegistries });
  try {
    await client.checkAccess();
  } catch (e) {
    if (e instanceof UserError && /denied|authentication/.test(e.message)) {
      throw new UserError(`login to ${displayRegistry(registry)} failed: unauthorized: incorrect username or password`);
    }
    throw e;
  }
  const savedIn = await storeCredentials(registry, { username, password });
  return { registry, savedIn };
}

/** Removes saved credentials; false when none were saved. */
export async function logout(server: string | undefined): Promise<{ registry: string; removed: boolean }> {
  const registry = server ? normalizeRegistryHost(server) : DEFAULT_DOMAIN;
  return { registry, removed: await eraseCredentials(registry) };
}

/**
 * Secrets in any layer of an image: private keys, npm tokens (`.npmrc`), `.env` files, cloud and
 * registry credentials. A later layer deleting or overwriting the file does not remove it from the
 * image (the earlier layer still holds the bytes, and anyone who pulls the image can read it), so
 * every layer is searched, and each finding names the layer that ADDED the file and, when it is no
 * longer visible, the layer that hid it. In: image model + merged tree. Out: `Secret[]`. Pure.
 */
import type { ImageModel, LayerEntry } from './model.js';
import { layerOrigin, type LayerOrigin } from './packages.js';
import type { MergedTree } from './tree.js';

export interface Secret extends LayerOrigin {
  /** e.g. `private key`, `npm auth token`, `environment file`. */
  what: string;
  path: string;
  bytes: number;
  /** Still in the final file tree (false: deleted or overwritten later, but still in `layer`'s blob). */
  visible: boolean;
  /** The layer that deleted or overwrote it. */
  hiddenBy?: number;
  hiddenHow?: 'deleted' | 'overwritten';
}

/** Basenames that are credentials by name (plus `.env` files, see below). */
const SECRET_NAMES = /(^|\/)(id_rsa|id_dsa|id_ecdsa|id_ed25519|\.npmrc|\.yarnrc\.yml|\.netrc|\.pypirc|\.git-credentials|\.dockercfg|\.aws\/credentials|\.docker\/config\.json|\.config\/gcloud\/(?:application_default_credentials|credentials)\.json|\.kube\/config)$/;
const ENV_FILE = /(^|\/)\.env(\.(?!example$|sample$|template$|dist$)[\w.-]+)?$/;
const KEY_FILE = /\.(pem|key|p12|pfx)$/;

const CONTENT_RULES: Array<[RegExp, string]> = [
  [/-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/, 'private key'],
  [/(?:^|\n)\s*(?:\/\/[^\n]*:)?_(?:authToken|auth|password)\s*=\s*\S/, 'npm auth token'],
  [/npmAuthToken:\s*\S/, 'yarn auth token'],
  [/\bAKIA[0-9A-Z]{16}\b|aws_secret_access_key\s*=\s*\S/, 'AWS credentials'],
  [/"type"\s*:\s*"service_account"[\s\S]*"private_key"|"refresh_token"\s*:\s*"[^"]+"/, 'Google Cloud credentials'],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b|github_pat_[A-Za-z0-9_]{40,}/, 'GitHub token'],
  [/"auths"\s*:\s*\{[\s\S]*"auth"\s*:\s*"[^"]+"/, 'registry credentials'],
  [/(?:^|\n)\s*(?:machine\s+\S+\s+)?(?:login\s+\S+\s+)?password\s+\S/, 'netrc password'],
  [/https?:\/\/[^:\s/]+:[^@\s/]+@/, 'URL with a password'],
];

/** Where keys and certificates of the system live: public material, not secrets. */
const SYSTEM = /^(etc\/ssl\/|usr\/share\/ca-certificates\/|etc\/ca-certificates\/|usr\/share\/|usr\/lib\/|usr\/local\/lib\/node_modules\/|etc\/pki\/)|node_modules\//;

/** Files whose text the secret rules want (the loader keeps it, up to 256 KiB). */
export function isSecretCandidate(path: string): boolean {
  if (SECRET_NAMES.test(path) || ENV_FILE.test(path)) return true;
  return KEY_FILE.test(path) && !SYSTEM.test(path);
}

/** What a file is, when it is a secret. */
export function classifySecret(e: LayerEntry): string | undefined {
  if (e.type !== 'file' || e.size === 0) return undefined;
  const text = e.content;
  if (text !== undefined) {
    const hit = CONTENT_RULES.find(([re]) => re.test(text));
    if (hit) return hit[1];
    if (ENV_FILE.test(e.path) && /(?:^|\n)\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*\S/.test(text)) return 'environment file';
  }
  if (SECRET_NAMES.test(e.path) && !SYSTEM.test(e.path)) return 'credentials file';
  return undefined;
}

export function findSecrets(img: ImageModel, tree: MergedTree): Secret[] {
  const hidden = new Map<string, { by: number; how: 'deleted' | 'overwritten' }>();
  for (const w of tree.wasted) hidden.set(`${w.layer}\0${w.path}`, { by: w.hiddenBy, how: w.how === 'deleted' ? 'deleted' : 'overwritten' });
  const out: Secret[] = [];
  for (const l of img.layers) {
    for (const e of l.entries) {
      if (!isSecretCandidate(e.path)) continue;
      const what = classifySecret(e);
      if (!what) continue;
      const n = tree.nodes.get(e.path);
      const visible = n?.layer === l.index;
      const h = hidden.get(`${l.index}\0${e.path}`);
      out.push({ what, path: `/${e.path}`, bytes: e.size, ...layerOrigin(img, l.index), visible, ...(!visible && h ? { hiddenBy: h.by, hiddenHow: h.how } : {}) });
    }
  }
  return out;
}

/** Bundles the CLI once before the suite, so tests spawn `node dist/stagecraft.js` like a user. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
}

/** Commands of this module are registered here (placeholder until the owning feature lands). */
import type { Command } from 'commander';

export function register(_program: Command): void {}

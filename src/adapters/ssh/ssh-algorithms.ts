import { createRequire } from 'node:module';
import type { Algorithms } from 'ssh2';
import type { Logger } from '../../ports/logger.ts';

/** AES-GCM first: the fastest cipher on AES-NI hardware (docs/benchmarks.md, "ssh2 itself"); the rest as fallbacks. */
export const SSH_ALGORITHMS: Algorithms = {
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes256-ctr',
  ],
};

/** ssh2's native crypto binding is optional and fails silently; without it transfers are several times slower (docs/benchmarks.md, "ssh2 itself"). */
export function warnIfNoCryptoBinding(logger: Logger): boolean {
  const require = createRequire(import.meta.url);
  const { bindingAvailable } = require('ssh2/lib/protocol/crypto') as { bindingAvailable: boolean };
  if (!bindingAvailable) {
    logger.warn(
      {},
      "ssh2's native crypto binding is missing (npm ci without build tools?): SSH transfers will be 4-5x slower",
    );
  }
  return bindingAvailable;
}

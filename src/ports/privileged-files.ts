import type { Ownership } from '../domain/ownership.ts';

/**
 * Agent side: operations the agent's user may not do itself, done through narrowly allowed
 * privileges (sudo -n). Only ever given temp files the agent wrote and verified itself.
 * Failures throw with a message naming the missing privilege (e.g. the sudo rule).
 */
export interface PrivilegedFiles {
  chown(tempPath: string, ownership: Ownership): Promise<void>;
  chmod(tempPath: string, mode: number): Promise<void>;
  /** Creates missing parents and renames tempPath onto destination. */
  move(tempPath: string, destination: string): Promise<void>;
}

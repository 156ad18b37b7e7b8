import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** CPU milliseconds of each step of the floor, and of all, over `copies` copies of the file. */
export interface CpuFloor {
  seal: number;
  open: number;
  md5: number;
  write: number;
  all: number;
  /** all / the cores: the least wall time that work takes with every core on it. */
  floorMs: number;
  cores: number;
}

/** SSH's packets are at most 32 KiB; AES-GCM costs the same per byte in bigger pieces, so the chunk is a convenience. */
const CHUNK = 256 * 1024;

/** User + system CPU milliseconds of this process (every thread) spent in fn. */
function cpuOf(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/**
 * The least CPU a fan-out of `file` to `copies` hosts needs on one machine holding both ends: each
 * copy sealed (AES-128-GCM, as the sender's SSH does), opened (as the receiver's), hashed (md5, as
 * our agent does) and written once to `dir` (the page cache of the filesystem the agents write to).
 * Each step runs over all copies before the next, so that its CPU can be read apart; the files
 * written are removed afterwards, outside the measurement.
 */
export function measureCpuFloor(file: string, copies: number, dir: string): CpuFloor {
  const data = readFileSync(file);
  const key = randomBytes(16);
  const chunks = Math.ceil(data.length / CHUNK);
  const sealed: { iv: Buffer; body: Buffer; tag: Buffer }[] = [];
  const seal = cpuOf(() => {
    for (let c = 0; c < copies; c++)
      for (let i = 0; i < chunks; i++) {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-128-gcm', key, iv);
        const body = Buffer.concat([
          cipher.update(data.subarray(i * CHUNK, (i + 1) * CHUNK)),
          cipher.final(),
        ]);
        // One copy's ciphertext is kept to open; the rest are dropped as made.
        if (c === 0) sealed.push({ iv, body, tag: cipher.getAuthTag() });
      }
  });
  const plain: Buffer[] = [];
  const open = cpuOf(() => {
    for (let c = 0; c < copies; c++)
      for (const s of sealed) {
        const decipher = createDecipheriv('aes-128-gcm', key, s.iv);
        decipher.setAuthTag(s.tag);
        const out = Buffer.concat([decipher.update(s.body), decipher.final()]);
        if (c === 0) plain.push(out);
      }
  });
  if (!Buffer.concat(plain).equals(data)) throw new Error('the CPU floor: AES-128-GCM did not round-trip');
  const md5 = cpuOf(() => {
    for (let c = 0; c < copies; c++) {
      const h = createHash('md5');
      for (const p of plain) h.update(p);
      h.digest();
    }
  });
  const paths = Array.from({ length: copies }, (_, c) => join(dir, `floor-${c}.bin`));
  let write: number;
  try {
    write = cpuOf(() => {
      for (const path of paths) {
        const fd = openSync(path, 'w');
        try {
          for (const p of plain) writeSync(fd, p);
        } finally {
          closeSync(fd);
        }
      }
    });
  } finally {
    for (const path of paths) {
      try {
        unlinkSync(path);
      } catch {
        // not written
      }
    }
  }
  const cores = availableParallelism();
  const all = seal + open + md5 + write;
  return { seal, open, md5, write, all, floorMs: all / cores, cores };
}

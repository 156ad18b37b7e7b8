/**
 * The hashing worker's program, run with `new Worker(HASH_WORKER_SCRIPT, { eval: true })`. Why a
 * string and not a file: the same code then runs from the TypeScript sources (tsx), from dist/ and from
 * the agent's one-file bundle, with no worker path to resolve or copy next to each.
 *
 * Messages in (per job, in order): begin {job, algorithms, buffers: SharedArrayBuffer[]},
 * update {job, index, offset, length} (answered {job} once hashed: the batch may be refilled),
 * digest {job} (answered {job, digests: hex[]}), drop {job}. A message for an unknown job is a bug:
 * it throws, which ends the worker and fails every job in the main thread.
 */
export const HASH_WORKER_SCRIPT = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'begin') {
    jobs.set(m.job, { hashes: m.algorithms.map((a) => createHash(a)), buffers: m.buffers.map((b) => new Uint8Array(b)) });
    return;
  }
  if (m.op === 'drop') return void jobs.delete(m.job);
  const job = jobs.get(m.job);
  if (!job) throw new Error('hash worker: no job ' + m.job + ' for ' + m.op);
  if (m.op === 'update') {
    const view = job.buffers[m.index].subarray(m.offset, m.offset + m.length);
    for (const h of job.hashes) h.update(view);
    parentPort.postMessage({ job: m.job });
  } else if (m.op === 'digest') {
    jobs.delete(m.job);
    parentPort.postMessage({ job: m.job, digests: job.hashes.map((h) => h.digest('hex')) });
  } else {
    throw new Error('hash worker: unknown message ' + m.op);
  }
});
`;

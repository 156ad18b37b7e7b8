import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { HASH_WORKER_SCRIPT } from './hash-worker-script.ts';
import { fsError } from './fs-errors.ts';
import type { BatchHasher } from './hashing-writer.ts';
import { allocateAligned } from './aligned-buffers.ts';
import { SpareBuffers } from '../system/spare-buffers.ts';

/** The code of every failure of the hashing thread, so callers word it like any other file error. */
export const HASH_THREAD_FAILED = 'ERR_HASH_THREAD';
const threadError = (message: string): Error => fsError(HASH_THREAD_FAILED, message);

/** A thread with no job for this long ends: it is a whole V8 isolate, which an idle agent should not keep. */
const HASH_WORKER_IDLE_MS = 10_000;

/** One hashing thread; opaque outside this file. */
interface Thread {
  worker: Worker;
  retired: boolean;
  /** Jobs begun in this thread and not yet digested or dropped. */
  jobs: Map<number, WorkerHashJob>;
  idleTimer?: NodeJS.Timeout;
}

/**
 * One hashing thread per process, shared by every job, started by the first job that needs it and
 * ended after HASH_WORKER_IDLE_MS without jobs. Why: md5 over a large push is a large share of the
 * agent's one thread (docs/benchmarks.md, "One push"), beside ssh2's decryption and the writes. A job
 * hands the thread whole batches in SharedArrayBuffers, so the bytes are neither copied nor sent.
 */
export class HashWorker {
  private thread: Thread | undefined;
  private nextJob = 1;
  /**
   * Batch buffers of finished jobs, for the next job: a fresh SharedArrayBuffer is a new mapping whose
   * every page faults on first use, two per file (for a fan-out of small files, most of the agents'
   * system time). Kept like the writer's own batches: 64 MiB at most, none after 10 s idle.
   */
  readonly spare = new SpareBuffers(64 * 1024 * 1024, 10_000, (size) => allocateAligned(size, true));
  /** Threads started so far (for tests and diagnostics). */
  started = 0;

  constructor(private readonly idleMs = HASH_WORKER_IDLE_MS) {}

  /** A job hashing one stream of batches with these algorithms (e.g. ['md5']). */
  job(algorithms: string[]): WorkerHashJob {
    return new WorkerHashJob(this, algorithms);
  }

  /** Whether a thread is up now. */
  get running(): boolean {
    return this.thread !== undefined;
  }

  /** Ends the thread now (tests; the agent just lets it idle out); its jobs fail. */
  async stop(): Promise<void> {
    const t = this.thread;
    if (!t) return;
    this.retire(t, threadError('the hashing thread was stopped'));
    await t.worker.terminate(); // already asked by retire: this waits for the exit
  }

  /** @internal Registers a job in the thread (starting it if needed) and sends it its buffers. */
  begin(
    job: WorkerHashJob,
    algorithms: string[],
    buffers: SharedArrayBuffer[],
  ): { id: number; thread: Thread } {
    const t = (this.thread ??= this.spawn());
    clearTimeout(t.idleTimer);
    t.idleTimer = undefined;
    if (t.jobs.size === 0) t.worker.ref(); // a hash in progress keeps the process alive, as a pending write would
    const id = this.nextJob++;
    t.jobs.set(id, job);
    t.worker.postMessage({ op: 'begin', job: id, algorithms, buffers });
    return { id, thread: t };
  }

  /** @internal Sends to the job's own thread; a retired thread has failed the job already. */
  post(t: Thread, message: { op: string; job: number; [k: string]: unknown }): void {
    if (!t.retired) t.worker.postMessage(message);
  }

  /** @internal The job is over (digested or dropped): an idle thread ends after idleMs. */
  end(t: Thread, id: number): void {
    if (!t.jobs.delete(id) || t.jobs.size > 0 || t.retired) return;
    t.worker.unref();
    t.idleTimer = setTimeout(() => {
      if (t.jobs.size > 0) return;
      this.retire(t, threadError('the hashing thread ended while idle'));
    }, this.idleMs);
    t.idleTimer.unref();
  }

  private spawn(): Thread {
    // No execArgv: the worker runs plain JavaScript and needs none of the parent's loaders (tsx) or flags.
    const worker = new Worker(HASH_WORKER_SCRIPT, { eval: true, execArgv: [], stdout: false, stderr: false });
    const t: Thread = { worker, jobs: new Map(), retired: false };
    this.started++;
    worker.on('message', (m: { job: number; digests?: string[] }) => t.jobs.get(m.job)?.settle(m.digests));
    worker.on('error', (e: Error) => this.retire(t, threadError(`the hashing thread failed: ${e.message}`)));
    worker.on('messageerror', (e: Error) =>
      this.retire(t, threadError(`the hashing thread sent a message that could not be read: ${e.message}`)),
    );
    worker.on('exit', (code) =>
      this.retire(t, threadError(`the hashing thread stopped (exit code ${code})`)),
    );
    return t;
  }

  /** The thread is gone or going: its jobs fail with why, and the next job starts a new one. */
  private retire(t: Thread, why: Error): void {
    clearTimeout(t.idleTimer);
    if (this.thread === t) this.thread = undefined;
    for (const job of t.jobs.values()) job.fail(why);
    t.jobs.clear();
    if (t.retired) return;
    t.retired = true;
    // A thread that failed without exiting (messageerror) must not live on, referenced, with no job.
    void t.worker.terminate();
  }
}

/**
 * Hashes the batches of one HashingWriter. A stream that fits in its first batch (the writer says
 * `last` on it) is hashed right here: a small push never starts the thread. Anything longer goes to
 * the shared thread, batch by batch, in order.
 */
export class WorkerHashJob implements BatchHasher {
  /** The batches allocate() handed out, each on a SharedArrayBuffer of its own; given back to the worker's spares once the digest is in. */
  private readonly lent: Buffer[] = [];
  private local: Hash[] | undefined;
  private id: number | undefined;
  private thread: Thread | undefined;
  private readonly waiting: {
    resolve: (digests: string[] | undefined) => void;
    reject: (e: Error) => void;
  }[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly owner: HashWorker,
    private readonly algorithms: string[],
  ) {}

  /** A batch buffer the thread can read: backed by a SharedArrayBuffer (a spare one when there is). */
  allocate(bytes: number): Buffer {
    const batch = this.owner.spare.take(bytes);
    this.lent.push(batch);
    return batch;
  }

  update(batch: Buffer, last: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.local && this.id === undefined) {
      if (last) this.local = this.algorithms.map((a) => createHash(a));
      else {
        try {
          ({ id: this.id, thread: this.thread } = this.owner.begin(
            this,
            this.algorithms,
            this.lent.map((b) => b.buffer as SharedArrayBuffer),
          ));
        } catch (e) {
          this.fail(threadError(`the hashing thread did not start: ${(e as Error).message}`));
          return Promise.reject(this.failure);
        }
      }
    }
    if (this.local) {
      for (const h of this.local) h.update(batch);
      return Promise.resolve();
    }
    const index = this.lent.findIndex((b) => b.buffer === batch.buffer);
    if (index < 0)
      return Promise.reject(
        new Error('WorkerHashJob.update: the batch is not one of the buffers this job allocated'),
      );
    return this.call({ op: 'update', index, offset: batch.byteOffset, length: batch.byteLength }).then(
      () => undefined,
    );
  }

  /**
   * Hex digests in the order of the algorithms; the job is over after this. Call it once the writer
   * has finished: the batches then go back to the spares, since neither the writes nor the thread
   * read them any more (the thread answers a digest after every update before it).
   */
  async digest(): Promise<string[]> {
    if (this.failure) throw this.failure;
    if (this.id === undefined) {
      const digests = (this.local ?? this.algorithms.map((a) => createHash(a))).map((h) => h.digest('hex'));
      this.giveBack();
      return digests;
    }
    const id = this.id;
    try {
      const digests = await this.call({ op: 'digest' });
      if (!digests) throw threadError('the hashing thread answered a digest without one');
      this.giveBack();
      return digests;
    } finally {
      this.id = undefined;
      this.owner.end(this.thread!, id);
    }
  }

  /** The batches go to the spares (after a failure or a drop they are left to the collector: a write may still read them). */
  private giveBack(): void {
    for (const b of this.lent.splice(0)) this.owner.spare.give(b);
  }

  /** After a failure or when the digest is not wanted: the thread forgets the job. */
  dispose(): void {
    if (this.id === undefined) return;
    this.owner.post(this.thread!, { op: 'drop', job: this.id });
    this.owner.end(this.thread!, this.id);
    this.id = undefined;
    this.fail(new Error('the hashing job was dropped'));
  }

  /** @internal Every waiting call of this job fails with why (the thread is gone). */
  fail(why: Error): void {
    this.failure ??= why;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /** @internal The thread answered this job's oldest call (answers come in order). */
  settle(digests: string[] | undefined): void {
    this.waiting.shift()?.resolve(digests);
  }

  private call(message: { op: string; [k: string]: unknown }): Promise<string[] | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.owner.post(this.thread!, { ...message, job: this.id! });
    });
  }
}

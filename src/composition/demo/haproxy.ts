/**
 * A private HAProxy in TCP mode (Debian's binary) for the cluster demo and the tests: its own
 * config in a folder of the caller's, frontends on 127.0.0.1, run in the foreground (-db) and
 * stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findSystemBinary } from './private-nats.ts';

/** The haproxy binary (Debian puts it in /usr/sbin, often not on a user's PATH), or undefined. */
export function findHaproxy(): Promise<string | undefined> {
  return findSystemBinary('haproxy');
}

export interface HaproxyFrontend {
  /** A name of letters, digits, - and _ (HAProxy's section names). */
  name: string;
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  /** The nodes behind it, each on 127.0.0.1. */
  servers: { name: string; port: number }[];
  /** `send-proxy-v2`: each connection to a node starts with a PROXY v2 header naming the client. */
  sendProxy: boolean;
  /** An HTTP health check (path), else a TCP connect check. */
  httpCheck?: string;
  /** `leastconn` for long-lived agent connections, `roundrobin` for API calls. */
  balance: 'leastconn' | 'roundrobin';
}

/** The haproxy.cfg of docs/scale-out.md, for nodes on this host, with short checks for tests. */
export function haproxyConfig(frontends: HaproxyFrontend[], statsSocket: string): string {
  const sections = frontends.map((f) => {
    const check = f.httpCheck ? `    option httpchk GET ${f.httpCheck}\n` : '';
    const proxy = f.sendProxy ? ' send-proxy-v2' : '';
    const servers = f.servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port}${proxy}\n`).join('');
    return `frontend ${f.name}
    bind 127.0.0.1:${f.port}
    default_backend ${f.name}_nodes

backend ${f.name}_nodes
    balance ${f.balance}
${check}    default-server check inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
${servers}`;
  });
  return `global
    maxconn 4000
    stats socket ${statsSocket} mode 600 level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 2m
    timeout server 2m
    retries 2
    option redispatch

${sections.join('\n')}`;
}

/** Children still running: killed by pid if this process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
});

export class HaproxyProcess {
  private log = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly statsSocket: string,
  ) {
    const take = (c: Buffer): void => void (this.log = (this.log + c.toString()).slice(-20_000));
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
  }

  /** Writes {dir}/haproxy.cfg, starts haproxy on it and waits until every frontend accepts. */
  static async start(bin: string, dir: string, frontends: HaproxyFrontend[]): Promise<HaproxyProcess> {
    const cfg = join(dir, 'haproxy.cfg');
    const statsSocket = join(dir, 'haproxy.sock');
    await writeFile(cfg, haproxyConfig(frontends, statsSocket), { mode: 0o600 });
    const child = spawn(bin, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const proxy = new HaproxyProcess(child, statsSocket);
    try {
      const exited = new Promise<never>((_, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`haproxy exited (${code}):\n${proxy.log}`)));
      });
      await Promise.race([exited, Promise.all(frontends.map((f) => untilAccepting(f.port)))]);
    } catch (e) {
      await proxy.stop();
      throw e;
    }
    return proxy;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** haproxy's own output so far (alerts, warnings). */
  output(): string {
    return this.log;
  }

  /** "UP", "DOWN", … of each server of a backend, by name, from the stats socket. */
  async serverStates(backend: string): Promise<Record<string, string>> {
    const csv = await this.command('show stat');
    const states: Record<string, string> = {};
    for (const line of csv.split('\n')) {
      const [px, sv, ...rest] = line.split(',');
      if (px === backend && sv !== 'BACKEND' && sv !== 'FRONTEND' && sv) states[sv] = rest[15];
    }
    return states;
  }

  /** One command on the stats socket; resolves with its answer. */
  command(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect(this.statsSocket);
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.once('error', reject);
      s.once('close', () => resolve(out));
      s.end(`${text}\n`);
    });
  }

  /** SIGTERM by pid, then SIGKILL if it lingers; resolves once it exited. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    process.kill(c.pid!, 'SIGTERM');
    const timer = setTimeout(() => c.exitCode === null && process.kill(c.pid!, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/** Resolves once 127.0.0.1:port accepts a connection; gives up after 10 s. */
async function untilAccepting(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on 127.0.0.1:${port} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

import type { BenchCase, BenchContext } from '../lib/bench-case.ts';
import { megabytes, rate, seconds } from '../lib/figures.ts';
import { forkFleet, productMissing, startRportd, type FleetStart } from '../lib/product.ts';
import { MB, rssOf } from '../lib/proc-memory.ts';
import { DEFAULT_LISTENER_SETTINGS } from '../../src/adapters/ssh/ssh-client-listener.ts';

async function bare(ctx: BenchContext, n: number): Promise<{ ms: number; failed: number; idle: number }> {
  const server = ctx.children.fork('bare ssh2 server', new URL('../roles/bare-ssh-server.ts', import.meta.url));
  const clients = ctx.children.fork('bare ssh2 clients', new URL('../roles/bare-ssh-clients.ts', import.meta.url));
  clients.on('progress', (m) => ctx.log(`bare ssh2: ${String(m.done)}/${String(m.count)} authenticated`));
  const { port } = await server.ready;
  await clients.ready;
  // The same bound on handshakes in flight as rportd's max_concurrent_handshakes default.
  const r = await clients.call<{ ms: number; failed: number }>('connect', { port, count: n, inflight: DEFAULT_LISTENER_SETTINGS.maxHandshakes });
  await new Promise((res) => setTimeout(res, 1500));
  const idle = rssOf(server.pid);
  await clients.call('close').catch(() => undefined);
  await ctx.children.kill(clients);
  await ctx.children.kill(server);
  return { ...r, idle };
}

async function ours(ctx: BenchContext, n: number): Promise<FleetStart & { idle: number }> {
  const server = await startRportd(ctx, { name: 'rportd' });
  const fleet = forkFleet(ctx, server, 'storm-agents');
  try {
    const r = await fleet.start(n, 'storm', 180_000);
    await new Promise((res) => setTimeout(res, 1500));
    return { ...r, idle: rssOf(server.pid) };
  } finally {
    await fleet.stop();
    await server.stop();
  }
}

const storm: BenchCase = {
  name: 'storm',
  summary: '1000 agents connecting at once: time until all registered, failures, handshake rate against a bare ssh2 server',
  timeoutMs: 300_000,
  async run(ctx) {
    const n = ctx.quick ? 100 : 1000;
    const ref = await bare(ctx, n);
    const refRate = (n - ref.failed) / (ref.ms / 1000);
    ctx.log(`bare ssh2: ${n} authenticated in ${seconds(ref.ms)} (${rate(refRate, '/s')}), ${ref.failed} failed, server idle ${megabytes(ref.idle)}`);
    const missing = productMissing();
    if (missing) ctx.log(`ours skipped: ${missing}`);
    const o = missing ? undefined : await ours(ctx, n);
    const ourRate = o ? (n - o.failed) / (o.ms / 1000) : undefined;
    if (o) ctx.log(`ours: ${n - o.failed} registered in ${seconds(o.ms)} (${rate(ourRate, '/s')}), ${o.failed} never registered, ${o.retries} retried attempts, server idle ${megabytes(o.idle)}`);
    ctx.add({
      figure: `reconnect storm ${n}: handshake rate (all registered)`,
      ours: rate(ourRate, '/s'),
      reference: rate(refRate, '/s'),
      ratio: ourRate ? ourRate / refRate : undefined,
      target: '>= 0.80x',
      met: ourRate ? ourRate / refRate >= 0.8 : undefined,
      note: `ours: ${n} real agents in one process started at once against rportd (max_concurrent_handshakes ${DEFAULT_LISTENER_SETTINGS.maxHandshakes}, connections over it wait in rportd's queue of ${DEFAULT_LISTENER_SETTINGS.maxQueuedHandshakes}); reference: ${n} bare ssh2 clients with ${DEFAULT_LISTENER_SETTINGS.maxHandshakes} handshakes in flight`,
    });
    ctx.add({ figure: `reconnect storm ${n}: time until all registered`, ours: seconds(o?.ms), reference: seconds(ref.ms), target: 'report' });
    ctx.add({ figure: `reconnect storm ${n}: agents never registered`, ours: o ? String(o.failed) : undefined, reference: String(ref.failed), target: '0', met: o ? o.failed === 0 : undefined });
    ctx.add({ figure: `reconnect storm ${n}: attempts retried (refused at the cap, retried)`, ours: o ? String(o.retries) : undefined, target: 'report' });
    ctx.add({
      figure: `server RSS idle with ${n} agents connected`,
      ours: megabytes(o?.idle),
      reference: megabytes(ref.idle),
      ratio: o ? o.idle / ref.idle : undefined,
      target: '<= 150 MB',
      met: o ? o.idle <= 150 * MB : undefined,
    });
  },
};

export default storm;

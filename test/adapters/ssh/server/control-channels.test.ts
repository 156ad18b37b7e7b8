import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import type ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import { MAX_LINE } from '../../../../src/adapters/ssh/protocol.ts';
import { AgentChannels } from '../../../../src/adapters/ssh/server/agent-channels.ts';
import { ControlChannel, MAX_PROTOCOL_ERRORS } from '../../../../src/adapters/ssh/server/control-channel.ts';
import { quietLogger, realClock, RecordingPresence } from '../fakes.ts';
import { connectRaw, startServer, type TestServer } from '../harness.ts';
import { challengeIn, challengeOf, helloAs, helloLine, linesOf, openControl, until } from '../rogue.ts';
import { ClientIdentity } from '../../../../src/domain/client-identity.ts';
import { InMemoryAuditLog } from '../../../../src/adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientKeys } from '../../../../src/adapters/memory/in-memory-client-keys.ts';
import { CONTROL_SUBSYSTEM } from '../../../../src/adapters/ssh/protocol.ts';

const closedPromise = (c: ssh2.Client): Promise<void> =>
  new Promise((resolve) => c.on('close', () => resolve()));

describe('SSH link: one control channel per connection (issue 17)', function () {
  this.timeout(20_000);
  let server: TestServer;
  const raws: ssh2.Client[] = [];

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
  });

  it('two sessions opened before the first hello cannot register two client ids, and nothing stays behind', async () => {
    const rogue = await connectRaw(server.port);
    raws.push(rogue);
    // Both requests leave before either hello: the check must hold across sessions, not per session.
    const opened = await Promise.allSettled([openControl(rogue), openControl(rogue)]);
    const controls = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(controls, 'control channels granted').to.have.length(1);
    const lines = linesOf(controls[0]);
    controls[0].write(helloLine('twin-a', await challengeIn(lines)));
    await until(() => lines.some((l) => l.type === 'welcome'));
    expect(server.channels.channelFor('twin-a')).to.not.equal(undefined);

    const closed = closedPromise(rogue);
    rogue.end();
    await closed;
    await until(() => server.channels.channelFor('twin-a') === undefined);
    expect(server.presence.clients.get('twin-a')?.connected).to.equal(false);
  });

  it('an agent that sends unknown lines and never reads the answers is cut after the error budget, and logged', async () => {
    const rogue = await connectRaw(server.port);
    raws.push(rogue);
    const control = await openControl(rogue);
    const closed = closedPromise(rogue);
    control.write(helloLine('noisy', await challengeOf(control)));
    // No 'data' listener: the rogue reads nothing the server answers.
    await until(() => server.channels.channelFor('noisy') !== undefined);
    for (let i = 0; i < 200; i++)
      control.write(JSON.stringify({ type: `junk-${i}`, pad: 'x'.repeat(1000) }) + '\n');
    await closed;
    await until(() => server.channels.channelFor('noisy') === undefined);
    const warning = server.logger.lines.find(
      (l) => l.level === 'warn' && /protocol errors/.test(String(l.fields.problem)),
    );
    expect(warning, 'a warning naming the protocol errors').to.not.equal(undefined);
    expect(warning!.fields).to.deep.include({ client_id: 'noisy', address: '127.0.0.1' });
    expect(String(warning!.fields.problem)).to.include(`${MAX_PROTOCOL_ERRORS} protocol errors`);
    // The server is none the worse: the next agent gets in.
    const good = await connectRaw(server.port);
    raws.push(good);
    await helloAs(good, 'after-noisy');
  });

  for (const [how, chunk] of [
    ['in one write', Infinity],
    ['in 1 KB pieces', 1024],
  ] as const) {
    it(`a 70 KB control line ending in a newline is refused (${how}), and the channel closed`, async () => {
      const rogue = await connectRaw(server.port);
      raws.push(rogue);
      const { control, lines } = await helloAs(rogue, 'long-liner');
      const closed = closedPromise(rogue);
      const line =
        JSON.stringify({ type: 'progress', req_id: '1', bytes: 1, pad: 'y'.repeat(70 * 1024) }) + '\n';
      for (let at = 0; at < line.length; at += Math.min(chunk, line.length))
        control.write(line.slice(at, at + chunk));
      await closed;
      await until(() => server.channels.channelFor('long-liner') === undefined);
      const error = lines.find((l) => l.type === 'error');
      expect(error?.message).to.equal(`a control line is longer than ${MAX_LINE} bytes`);
    });
  }
});

describe('ControlChannel: write back-pressure', () => {
  it('stops reading from an agent whose answers are not taken, until the channel drains', async () => {
    const written: string[] = [];
    const channel = Object.assign(new EventEmitter(), {
      writable: true,
      paused: false,
      write: (s: string) => (written.push(s), false),
      pause: () => ((channel.paused = true), channel),
      resume: () => ((channel.paused = false), channel),
      end: () => undefined,
    });
    const client = { end: () => undefined } as unknown as Connection;
    const deps = {
      channels: new AgentChannels(),
      presence: new RecordingPresence(),
      identity: new ClientIdentity(new InMemoryClientKeys(), new InMemoryAuditLog(), realClock),
      logger: quietLogger(),
    };
    const control = new ControlChannel(
      client,
      '127.0.0.9',
      deps,
      () => undefined,
      () => 'agents',
    );
    control.serve(channel as unknown as ServerChannel, CONTROL_SUBSYSTEM);
    const challenge = JSON.parse(written[0]) as { type: string; challenge: string };
    expect(challenge.type).to.equal('challenge');
    expect(channel.paused, 'paused once the challenge was not taken').to.equal(true);
    channel.emit('drain');
    channel.emit('data', Buffer.from(helloLine('slow-reader', challenge.challenge)));
    await until(() => written.length > 1);
    expect(JSON.parse(written[1])).to.deep.include({ type: 'welcome' });
    expect(channel.paused, 'paused once a write was not taken').to.equal(true);
    channel.emit('drain');
    expect(channel.paused, 'reading again after drain').to.equal(false);
  });
});

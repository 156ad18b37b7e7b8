/** Child side of bench/lib/children.ts: answers the parent's calls over IPC. */
export type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

export function serveRole(handlers: Handlers, ready: Record<string, unknown> = {}): void {
  if (!process.send)
    throw new Error('a bench role must be started by the bench harness (it needs an IPC channel)');
  process.on('message', (m: { type: string; id: number; cmd: string; args: Record<string, unknown> }) => {
    if (m.type !== 'call') return;
    const handler = handlers[m.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${m.cmd}`);
        return handler(m.args);
      })
      .then(
        (result) => process.send!({ type: 'reply', id: m.id, result: result ?? null }),
        (e: unknown) =>
          process.send!({ type: 'reply', id: m.id, error: e instanceof Error ? e.message : String(e) }),
      );
  });
  // The parent gone means the run is over: never linger.
  process.on('disconnect', () => process.exit(0));
  // A clean exit on SIGTERM lets --cpu-prof write its profile.
  process.once('SIGTERM', () => process.exit(0));
  process.send({ type: 'ready', ...ready });
}

/** Sends an event (progress, outcome) to the parent. */
export function emit(type: string, fields: Record<string, unknown> = {}): void {
  process.send?.({ type, ...fields });
}

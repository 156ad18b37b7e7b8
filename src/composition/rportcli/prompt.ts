import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { CliIo } from './output.ts';

/** Asks on the terminal; hidden answers (passwords) are not echoed. Only call when stdin is a TTY. */
export async function ask(io: CliIo, question: string, hidden = false): Promise<string> {
  io.stderr.write(question);
  // When hidden, readline echoes into a sink instead of the terminal.
  const output = hidden ? new Writable({ write: (_chunk, _enc, done) => done() }) : io.stderr;
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    if (hidden) io.stderr.write('\n');
  }
}

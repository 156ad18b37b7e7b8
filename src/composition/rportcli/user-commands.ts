import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import type { Connection } from './config.ts';
import { CliError } from './errors.ts';
import { collect, withConnection } from './flags.ts';
import { formatTable, printJson, printLines, type CliIo } from './output.ts';

interface Flags {
  json?: boolean;
}

/** What the user commands take from the program: a connected API client, and where to write. */
export interface UserCommandContext {
  io: CliIo;
  connect(flags: Flags): Promise<[RportApiClient, Connection]>;
}

interface UserView {
  username: string;
  groups: string[];
}

interface UserGroupView {
  name: string;
  permissions: Record<string, boolean>;
}

const path = (base: string, id: string): string => `${base}/${encodeURIComponent(id)}`;

/** `users list|add|update|delete`, `user-groups list|get|set|delete` and `passwd` (docs/cli.md, "Users"). */
export function addUserCommands(program: Command, x: UserCommandContext): void {
  const { io } = x;
  const users = program
    .command('users')
    .description("manage the API users (Administrators; users kept in rportd's database)");
  withConnection(users.command('list').description('list the API users and their user groups')).action(
    async (flags: Flags) => {
      const [api] = await x.connect(flags);
      const list = await api.json<UserView[]>('GET', 'api/v1/users');
      if (flags.json) return printJson(io, list);
      printLines(
        io,
        formatTable(
          ['USERNAME', 'GROUPS'],
          list.map((u) => [u.username, u.groups.join(',')]),
        ),
      );
    },
  );
  withConnection(
    users
      .command('add')
      .description('add an API user; without --password it is asked for (or read from $RPORT_NEW_PASSWORD)')
      .argument('<username>', 'letters, digits, . _ @ - (at most 64)')
      .option('-g, --groups <names>', 'user groups; repeat, or separate with commas', collect, [])
      .option('--password <password>', 'at least 8 characters'),
  ).action(async (username: string, flags: Flags & { groups: string[]; password?: string }) => {
    const [api] = await x.connect(flags);
    const [password] = await newPassword(io, flags.password, `password for ${username}: `);
    await api.json('POST', 'api/v1/users', { username, password, groups: flags.groups });
    if (flags.json) return printJson(io, { username, groups: flags.groups });
    io.stdout.write(
      `added API user ${username}${flags.groups.length ? ` in ${flags.groups.join(', ')}` : ''}\n`,
    );
  });
  withConnection(
    users
      .command('update')
      .description("change a user's name, password or groups (what is not given stays)")
      .argument('<username>', 'the user to change')
      .option('--new-username <name>', 'rename the user')
      .option('-g, --groups <names>', 'the complete new list of user groups', (v: string, prev?: string[]) =>
        collect(v, prev ?? []),
      )
      .option('--no-groups', 'take the user out of every user group')
      .option('--password <password>', 'a new password (at least 8 characters)'),
  ).action(
    async (
      username: string,
      flags: Flags & { newUsername?: string; groups?: string[] | false; password?: string },
    ) => {
      const [api] = await x.connect(flags);
      const body: Record<string, unknown> = {};
      if (flags.newUsername) body.username = flags.newUsername;
      if (flags.password) body.password = flags.password;
      if (flags.groups !== undefined) body.groups = flags.groups === false ? [] : flags.groups;
      if (Object.keys(body).length === 0)
        throw new CliError('nothing to change: give --new-username, --password, --groups or --no-groups');
      await api.json('PUT', path('api/v1/users', username), body);
      if (flags.json) return printJson(io, { username, changed: Object.keys(body) });
      io.stdout.write(`changed API user ${username}: ${Object.keys(body).join(', ')}\n`);
    },
  );
  withConnection(
    users
      .command('delete')
      .description('remove an API user: their tokens stop working')
      .argument('<username>'),
  ).action(async (username: string, flags: Flags) => {
    const [api] = await x.connect(flags);
    await api.json('DELETE', path('api/v1/users', username));
    if (flags.json) return printJson(io, { username, removed: true });
    io.stdout.write(`removed API user ${username}\n`);
  });

  const groups = program.command('user-groups').description('manage the user groups (Administrators)');
  withConnection(groups.command('list').description('list the user groups and their permissions')).action(
    async (flags: Flags) => {
      const [api] = await x.connect(flags);
      const list = await api.json<UserGroupView[]>('GET', 'api/v1/user-groups');
      if (flags.json) return printJson(io, list);
      printLines(
        io,
        formatTable(
          ['NAME', 'PERMISSIONS'],
          list.map((g) => [g.name, permissionsOf(g)]),
        ),
      );
    },
  );
  withConnection(groups.command('get').description('show one user group').argument('<name>')).action(
    async (name: string, flags: Flags) => {
      const [api] = await x.connect(flags);
      const g = await api.json<UserGroupView>('GET', path('api/v1/user-groups', name));
      if (flags.json) return printJson(io, g);
      printLines(io, [`name: ${g.name}`, `permissions: ${permissionsOf(g) || '(none)'}`]);
    },
  );
  withConnection(
    groups
      .command('set')
      .description("create a user group, or replace its permissions (openrport's names, e.g. uploads)")
      .argument('<name>')
      .option(
        '-p, --permission <name>',
        'a permission to grant; repeat, or separate with commas',
        collect,
        [],
      ),
  ).action(async (name: string, flags: Flags & { permission: string[] }) => {
    const [api] = await x.connect(flags);
    const permissions = Object.fromEntries(flags.permission.map((p) => [p, true]));
    const g = await api.json<UserGroupView>('PUT', path('api/v1/user-groups', name), { permissions });
    if (flags.json) return printJson(io, g);
    io.stdout.write(`saved user group ${name}\n`);
  });
  withConnection(
    groups
      .command('delete')
      .description('remove a user group and take every member out of it')
      .argument('<name>'),
  ).action(async (name: string, flags: Flags) => {
    const [api] = await x.connect(flags);
    await api.json('DELETE', path('api/v1/user-groups', name));
    if (flags.json) return printJson(io, { name, removed: true });
    io.stdout.write(`removed user group ${name}\n`);
  });

  withConnection(
    program
      .command('passwd')
      .description('change your own password (asks for the old and new one unless given)')
      .option('--old-password <password>', 'the current password (default: $RPORT_OLD_PASSWORD, else asked)')
      .option('--new-password <password>', 'the new password (default: $RPORT_NEW_PASSWORD, else asked)'),
  ).action(async (flags: Flags & { oldPassword?: string; newPassword?: string }) => {
    const [api, conn] = await x.connect(flags);
    const oldGiven = flags.oldPassword ?? io.env.RPORT_OLD_PASSWORD;
    const [password, asked] = await newPassword(
      io,
      flags.newPassword,
      'new password: ',
      oldGiven === undefined ? ['current password: '] : [],
    );
    const old = oldGiven ?? asked;
    await api.json('PUT', 'api/v1/me', { password, old_password: old });
    if (flags.json) return printJson(io, { changed: true });
    io.stdout.write(
      `password changed${conn.credentialSource.endsWith('login.json') ? '; the saved token no longer works: run `rportcli login` again' : ''}\n`,
    );
  });
}

const permissionsOf = (g: UserGroupView): string =>
  Object.entries(g.permissions)
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(',');

/** A new password: the flag, $RPORT_NEW_PASSWORD, or asked twice on the terminal (after `before`). */
async function newPassword(
  io: CliIo,
  flag: string | undefined,
  question: string,
  before: string[] = [],
): Promise<string[]> {
  const given = flag ?? io.env.RPORT_NEW_PASSWORD;
  if (given !== undefined) return [given, ...(await askHidden(io, before))];
  const answers = await askHidden(io, [...before, question, 'again: ']);
  const [first, again] = answers.slice(before.length);
  if (first !== again) throw new CliError('the two passwords differ');
  return [first, ...answers.slice(0, before.length)];
}

/**
 * Asks each question on the terminal without echo. One reader for them all: its line iterator keeps
 * lines that came before the next question was asked.
 */
async function askHidden(io: CliIo, questions: string[]): Promise<string[]> {
  if (questions.length === 0) return [];
  if (!io.stdin.isTTY)
    throw new CliError(
      'give the password flags or environment variables (docs/cli.md): stdin is not a terminal to ask on',
    );
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: io.stdin, output: sink, terminal: true });
  const lines = rl[Symbol.asyncIterator]();
  const answers: string[] = [];
  try {
    for (const q of questions) {
      io.stderr.write(q);
      const next = await lines.next();
      io.stderr.write('\n');
      const answer = next.done ? '' : String(next.value);
      if (answer === '') throw new CliError('no password given');
      answers.push(answer);
    }
  } finally {
    rl.close();
  }
  return answers;
}

import { runCli } from './program.ts';

/** `rportcli ...`: the process entry; bin/rportcli.js runs the compiled copy of this file. */
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
// Exit at once: an idle keep-alive socket must not hold the shell for seconds.
process.exit(code);

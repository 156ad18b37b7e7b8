#!/usr/bin/env node
// Runs the TypeScript entry through tsx, so the package ships without a build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/composition/cli-main.ts');
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
// Exit at once: an idle keep-alive socket must not hold the shell for seconds.
process.exit(code);

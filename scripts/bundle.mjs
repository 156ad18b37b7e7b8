// Bundles the compiled program entries into one file each: dist/bundle/client-main.js (bin/rport.js)
// and dist/bundle/server-main.js (bin/rportd.js). Why: loading inversify's ~365 ES modules, and the
// server's Koa, ajv and ws, one by one cost each program ~12 MB of RSS for good: the agent's 100 MB
// budget for a 1 GiB push (issue 4) and rportd's 150 MB with 1,000 agents connected (issue 7); see
// docs/adr/0006-agent-memory.md. Packages with native code or worker files stay outside the bundle
// and load from node_modules as usual.
import { build } from 'esbuild';
import { URL, fileURLToPath } from 'node:url';

const PROGRAMS = [
  { entry: 'client-main', external: ['ssh2', 'cpu-features', 'pino'] },
  { entry: 'server-main', external: ['ssh2', 'cpu-features', 'pino', 'better-sqlite3'] },
];

for (const { entry, external } of PROGRAMS) {
  await build({
    entryPoints: [fileURLToPath(new URL(`../dist/composition/${entry}.js`, import.meta.url))],
    outfile: fileURLToPath(new URL(`../dist/bundle/${entry}.js`, import.meta.url)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    sourcemap: true,
    logLevel: 'warning',
    // Bundled CommonJS packages call require(): give the ES module one.
    banner: {
      js: "import { createRequire as __rportCreateRequire } from 'node:module'; const require = __rportCreateRequire(import.meta.url);",
    },
  });
}

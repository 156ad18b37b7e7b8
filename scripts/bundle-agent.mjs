// Bundles the compiled agent entry (dist/composition/rport/main.js) into one file,
// dist/bundle/rport.js, which bin/rport.js runs. Why: the agent is the program on every managed
// host, and loading inversify's hundreds of ES modules one by one cost it RSS for good (issue 4's
// 100 MB budget; docs/adr/0006-agent-memory.md, step 4). Packages with native code or worker files stay
// outside the bundle and load from node_modules as usual.
import { build } from 'esbuild';
import { URL, fileURLToPath } from 'node:url';

// pino-pretty is loaded only for `[logging] format = "pretty"`; left out, an agent writing JSON never parses it.
const EXTERNAL = ['ssh2', 'cpu-features', 'pino', 'pino-pretty'];

await build({
  entryPoints: [fileURLToPath(new URL('../dist/composition/rport/main.js', import.meta.url))],
  outfile: fileURLToPath(new URL('../dist/bundle/rport.js', import.meta.url)),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS packages call require(): give the ES module one.
  banner: {
    js: "import { createRequire as __rportCreateRequire } from 'node:module'; const require = __rportCreateRequire(import.meta.url);",
  },
});

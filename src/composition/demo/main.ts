/**
 * `npm run demo`: one rportd on embedded defaults (single-node.ts), or with `--cluster 3` three
 * nodes on PostgreSQL and NATS behind HAProxy (cluster-demo.ts). Each runs on import.
 */
if (process.argv.includes('--cluster')) await import('./cluster-demo.ts');
else await import('./single-node.ts');

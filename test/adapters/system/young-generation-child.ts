// Child of young-generation-cap.test.ts: allocates objects that survive a few scavenges (which is what
// makes V8 grow its young generation), optionally under capYoungGeneration, and prints the largest
// young generation seen as JSON.
import {
  capYoungGeneration,
  youngGenerationSize,
} from '../../../src/adapters/system/young-generation-cap.ts';

const cap = Number(process.argv[2]);
const handle = cap > 0 ? capYoungGeneration(cap) : undefined;
const live: object[] = new Array(400_000);
let largest = youngGenerationSize();
for (let round = 0; round < 20; round++) {
  for (let i = 0; i < live.length; i++)
    live[(i * 7919 + round) % live.length] = { round, i, text: `item ${i}` };
  largest = Math.max(largest, youngGenerationSize());
  await new Promise((r) => setImmediate(r)); // lets the GC observer run, as rportd's event loop does
}
process.stdout.write(JSON.stringify({ largest, capped: handle?.capped ?? false }));

// rportd's process entry (bin/rportd.js runs its compiled form). It caps V8's young generation before
// anything else loads: compiling the server's modules alone grows it to V8's maximum, which then
// stays resident (src/adapters/system/young-generation-cap.ts; figures in docs/benchmarks.md,
// "Server memory"). So the command comes in by a dynamic import, after the cap; static imports
// would load first.
import { capYoungGeneration, SERVER_YOUNG_GENERATION } from '../../adapters/system/young-generation-cap.ts';

capYoungGeneration(SERVER_YOUNG_GENERATION);
const { runServerCommand } = await import('./start.ts');
await runServerCommand(process.argv);

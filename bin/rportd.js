#!/usr/bin/env node
// The server, e.g. `rportd --config rportd.conf`.
import { launch } from './launch.js';

// One bundled file (scripts/bundle.mjs): ~12 MB less RSS than loading dist/composition's modules one by one.
await launch('bundle/server-main');

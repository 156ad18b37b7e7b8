#!/usr/bin/env node
// The client agent, e.g. `rport --config rport.conf`.
import { launch } from './launch.js';

// One bundled file (scripts/bundle-agent.mjs): the program on every host loads in less RSS (ADR 0006).
await launch('bundle/rport');

#!/usr/bin/env node
// The client agent, e.g. `rport --config rport.conf`.
import { launch } from './launch.js';

await launch('client-main');

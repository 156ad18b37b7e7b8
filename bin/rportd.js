#!/usr/bin/env node
// The server, e.g. `rportd --config rportd.conf`.
import { launch } from './launch.js';

await launch('composition/rportd/main');

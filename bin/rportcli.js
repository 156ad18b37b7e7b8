#!/usr/bin/env node
// The admin's command line, e.g. `rportcli upload ./app.conf --client web-1 --dest /etc/app.conf`.
import { launch } from './launch.js';

await launch('composition/rportcli/main');

#!/usr/bin/env node
// Launches the TypeScript agent entry through tsx (ESM loader), e.g. `rport --config rport.conf`.
import { register } from 'tsx/esm/api';

register();
await import('../src/composition/client-main.ts');

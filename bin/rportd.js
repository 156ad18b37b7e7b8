#!/usr/bin/env node
// Launches the TypeScript server entry through tsx (ESM loader), e.g. `rportd --config rportd.conf`.
import { register } from 'tsx/esm/api';

register();
await import('../src/composition/server-main.ts');

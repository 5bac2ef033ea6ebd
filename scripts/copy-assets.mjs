#!/usr/bin/env node
// tsc copies no non-TS files: mirror the runtime assets (Lua scripts, static files) into dist/.
import { cpSync, existsSync } from 'node:fs';

const assets = ['src/coordination/redis/lua', 'src/gateway/static', 'src/dashboard/static'];
for (const dir of assets) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true });
}

// tsc copies no non-TS files: the SQL migrations and the default Job template ship beside the JS.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['db/migrations', 'sinks/templates']) {
  if (existsSync(`src/${dir}`)) cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true });
}

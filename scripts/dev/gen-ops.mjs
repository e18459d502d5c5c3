// npm run gen:ops [-- --check]: runs scripts/dev/gen-ops.py with the test Python recorded by
// `npm install` (build/config.json), the one whose torch wheel ships the operator schema.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonPath } from '../../test/helpers.mjs';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'gen-ops.py');
const r = spawnSync(pythonPath(), [script, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);

'use strict';
// Packs what `npm run test:gpu` needs on the GPU machine and that the checkout does not carry
// (../shared/GPU.md: no Node and no network there) into .gpu-kit/ (git-ignored), small enough to
// travel with the working tree (the device tool carries at most 64 MiB in all):
//   node.xz               this machine's node binary;
//   node_modules.tar.xz   the packages the build, the tests and the benchmarks load: the runtime
//                         dependencies and mocha, chai, fast-check, with everything they need
//                         (not the TypeScript, lint and docs tools);
//   dist.tar.xz           the compiled TypeScript (dist/ is built here: tsc is not packed).
// scripts/test/gpu.sh unpacks it there and runs scripts/test/gpu.js.
//
//   node scripts/dev/gpu-kit.js        then, on the GPU machine: bash scripts/test/gpu.sh [gpu.js options]

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const KIT = path.join(ROOT, '.gpu-kit');
const TEST_PACKAGES = ['mocha', 'chai', 'fast-check'];

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

/**
 * The node_modules folders that the runtime dependencies and TEST_PACKAGES need, from
 * package-lock.json, resolved as Node does (the nearest node_modules/NAME up the tree).
 */
function neededModules() {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const pkgs = lock.packages;
  const resolve = (from, name) => {
    let base = from;
    for (;;) {
      const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (pkgs[candidate]) return candidate;
      if (!base) return null;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const seen = new Set();
  const queue = [...Object.keys(pkgs[''].dependencies || {}), ...TEST_PACKAGES].map((n) => resolve('', n));
  while (queue.length) {
    const p = queue.pop();
    if (!p || seen.has(p)) continue;
    seen.add(p);
    const meta = pkgs[p];
    for (const dep of [...Object.keys(meta.dependencies || {}), ...Object.keys(meta.optionalDependencies || {})]) {
      const r = resolve(p, dep);
      if (r && fs.existsSync(path.join(ROOT, r))) queue.push(r);
    }
  }
  // Nested folders travel inside their parent; list only the outermost ones that exist.
  return [...seen]
    .filter((p) => fs.existsSync(path.join(ROOT, p)))
    .filter((p) => ![...seen].some((q) => q !== p && p.startsWith(`${q}/`)))
    .sort();
}

function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')))
    throw new Error('dist/ is not built: run `npm run build:ts` first');
  fs.rmSync(KIT, { recursive: true, force: true });
  fs.mkdirSync(KIT);
  const modules = neededModules();
  fs.writeFileSync(path.join(KIT, 'modules.txt'), modules.join('\n') + '\n');
  sh('tar', ['-cJf', path.join(KIT, 'node_modules.tar.xz'), '-T', path.join(KIT, 'modules.txt')], {
    env: { ...process.env, XZ_OPT: '-6 -T0' },
  });
  sh('tar', ['-cJf', path.join(KIT, 'dist.tar.xz'), 'dist'], { env: { ...process.env, XZ_OPT: '-6 -T0' } });
  const node = fs.openSync(path.join(KIT, 'node.xz'), 'w');
  sh('xz', ['-6', '-T0', '-c', process.execPath], { stdio: ['ignore', node, 'inherit'] });
  fs.closeSync(node);
  let total = 0;
  for (const f of fs.readdirSync(KIT)) {
    const size = fs.statSync(path.join(KIT, f)).size;
    total += size;
    console.error(`[gpu-kit] ${f}: ${(size / 2 ** 20).toFixed(1)} MiB`);
  }
  console.error(
    `[gpu-kit] .gpu-kit: ${(total / 2 ** 20).toFixed(1)} MiB (${modules.length} packages); carry it with the working tree and run: bash scripts/test/gpu.sh`,
  );
}

try {
  main();
} catch (e) {
  console.error(`[gpu-kit] ${e.message}`);
  process.exit(1);
}

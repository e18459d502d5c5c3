// npm run bench:export — memory and time of `jepa-native export` on a full-size checkpoint: a
// random I-JEPA ViT-H/14 training checkpoint (configs/in1k_vith14_ep300.yaml's sizes: encoder,
// target encoder, predictor and AdamW state, as src/train.py saves it; about 10 GB), made once
// into bench/.models/ by scripts/models/checkpoints.py --large.
// Prints the checkpoint's size, the exporter's peak RSS (its own getrusage, and /usr/bin/time's
// for the whole command) and their ratio. With --baseline, also the plain Python way a user
// would write by hand (torch.load without mmap, load_state_dict into the model, torch.jit.script,
// save), on the same file. Options: --no-opt (a checkpoint without the optimizer state),
// --baseline. Needs about 12 GB of free memory with --baseline, 7 GB without.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonPath } from '../test/helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NO_OPT = process.argv.includes('--no-opt');
const BASELINE = process.argv.includes('--baseline');
const GiB = 2 ** 30;

/** Runs a command under /usr/bin/time -v when present: {status, stdout, stderr, maxRssBytes}. */
function timed(cmd, args, env = {}) {
  const useTime = fs.existsSync('/usr/bin/time');
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-v', cmd, ...args], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
        env: { ...process.env, ...env },
      })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { ...r, maxRssBytes: m ? Number(m[1]) * 1024 : null };
}

const models = path.join(ROOT, 'bench', '.models');
fs.mkdirSync(models, { recursive: true });
const name = NO_OPT ? 'ijepa-vith14-noopt.pth.tar' : 'ijepa-vith14.pth.tar';
const ckpt = path.join(models, name);
console.log(
  `machine: ${os.cpus().length} cores, ${(os.totalmem() / GiB).toFixed(1)} GiB, ${(os.freemem() / GiB).toFixed(1)} GiB free`,
);
if (!fs.existsSync(ckpt)) {
  console.log(`making ${ckpt} (once) ...`);
  const args = [
    path.join(ROOT, 'scripts', 'models', 'checkpoints.py'),
    models,
    '--large',
    name,
    ...(NO_OPT ? ['--no-opt'] : []),
  ];
  const r = spawnSync(pythonPath(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) process.exit(1);
  fs.writeFileSync(`${ckpt}.json`, r.stdout.trim().split('\n').pop());
}
const about = fs.existsSync(`${ckpt}.json`) ? JSON.parse(fs.readFileSync(`${ckpt}.json`, 'utf8')) : null;
const size = fs.statSync(ckpt).size;
console.log(
  `checkpoint: ${name}, ${(size / GiB).toFixed(2)} GiB${about ? `, parameters ${JSON.stringify(about.parameters)}` : ''}`,
);

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-export-'));
try {
  const r = timed(
    process.execPath,
    [path.join(ROOT, 'bin', 'jepa-native.js'), 'export', 'ijepa', ckpt, path.join(out, 'vith14'), '--json'],
    {
      JEPA_PYTHON: pythonPath(),
    },
  );
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const s = JSON.parse(r.stdout.trim().split('\n').pop());
  const rss = s.peakRssBytes;
  console.log(
    `jepa-native export: ${s.seconds} s, peak RSS ${(rss / GiB).toFixed(2)} GiB (exporter) = ${(rss / size).toFixed(2)}x the checkpoint` +
      (r.maxRssBytes ? `; /usr/bin/time: ${(r.maxRssBytes / GiB).toFixed(2)} GiB` : ''),
  );
  if (BASELINE) {
    const code = `
import sys, time, torch, resource
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})
from jepa_export.models import ijepa
t = time.time()
ck = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
for role, name in [('encoder', 'context_encoder'), ('target_encoder', 'target_encoder')]:
    m = ijepa.build_encoder(ijepa.SIZES['vit_huge'], 14, 224)
    m.load_state_dict({k[len('module.'):]: v for k, v in ck[role].items()})
    torch.jit.script(m.eval()).save(sys.argv[2] + '/' + name + '.pt')
    del m
print(time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
`;
    const b = timed(pythonPath(), ['-c', code, ckpt, out]);
    if (b.status !== 0) throw new Error(b.stderr);
    const [secs, bRss] = b.stdout.trim().split('\n').pop().split(' ').map(Number);
    console.log(
      `plain Python (torch.load, load_state_dict, script; encoders only): ${secs.toFixed(1)} s, peak RSS ${(bRss / GiB).toFixed(2)} GiB = ${(bRss / size).toFixed(2)}x`,
    );
    console.log(`ratio of peak RSS (plain Python / jepa-native export): ${(bRss / rss).toFixed(2)}x`);
  }
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}

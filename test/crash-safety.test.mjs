// Crash safety of saves: a child process saving a large file over and over is killed with
// SIGKILL at random moments. The target must then hold either the old complete file or the new
// complete file (never a torn one), and a later successful save removes the temporary files the
// killed writers left behind, by the documented rule (RELIABILITY.md): the writer's process is
// gone and the temporary file is older than `jepa.limits.staleTempSeconds`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, ROOT, runNode, runPython, tmpDir } from './helpers.mjs';

const ELEMENTS = 8 << 20; // float32: a 32 MiB tensor per save

// Saves generation base, base + 1, ... to the target until killed; prints each one saved.
const WRITER = `
import jepa from 'jepa-native';
const [target, format, base] = process.argv.slice(1);
const t = jepa.empty([${ELEMENTS}]);
for (let gen = Number(base); ; gen++) {
  t.fill_(gen);
  process.stdout.write('saving ' + gen + '\\n');
  if (format === 'pt') jepa.saveSync(target, { gen, data: t });
  else jepa.saveSafetensorsSync(target, { data: t }, { metadata: { gen: String(gen) } });
  process.stdout.write('saved ' + gen + '\\n');
}`;

/** The generation a complete file holds, checking every element; throws on a torn file. */
function readGeneration(target, format) {
  let gen;
  let data;
  if (format === 'pt') {
    const v = jepa.loadSync(target);
    gen = v.gen;
    data = v.data;
  } else {
    gen = Number(jepa.readSafetensorsHeader(target).metadata.gen);
    data = jepa.loadSafetensorsSync(target).data;
  }
  expect(data.shape).to.deep.equal([ELEMENTS]);
  const x = data.data();
  for (let i = 0; i < x.length; i += 1) {
    if (x[i] !== gen) throw new Error(`${target}: element ${i} is ${x[i]}, not the file's generation ${gen} (torn?)`);
  }
  data.dispose();
  return gen;
}

const isTemp = (name) => /\.jepa-tmp-\d+-[0-9a-f]+-[0-9a-f]+$/.test(name);

// How long one save takes here (updated from what the writers print), so that kills can land at
// a random moment inside a save rather than mostly in the start-up of the next writer.
const saveMs = { pt: 150, safetensors: 150 };

/**
 * Starts a writer and kills it (SIGKILL) at a random moment of its first, second or third save
 * (a random delay of up to 1.2 times a save's duration after it starts); resolves with the
 * generations it printed as saved.
 */
function runAndKill(target, format, base) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, target, format, String(base)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    let seen = 0;
    const which = 1 + Math.floor(Math.random() * 3);
    let started = 0;
    let pending = '';
    child.stdout.on('data', (d) => {
      out += d;
      const lines = (pending + d).split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (line.startsWith('saving ')) {
          started = performance.now();
          if (++seen === which && !armed) {
            armed = true;
            setTimeout(() => child.kill('SIGKILL'), Math.random() * 1.2 * saveMs[format]);
          }
        } else if (line.startsWith('saved ') && started) {
          saveMs[format] = 0.7 * saveMs[format] + 0.3 * (performance.now() - started);
        }
      }
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited with ${code} before the kill:\n${err}`));
      const saved = [...out.matchAll(/saved (\d+)\n/g)].map((m) => Number(m[1]));
      const begun = [...out.matchAll(/saving (\d+)\n/g)].map((m) => Number(m[1]));
      // Killed between 'saving N' and 'saved N': inside a save (possibly in its rename).
      const inSave = begun.length > 0 && begun[begun.length - 1] !== saved[saved.length - 1];
      resolve({ pid: child.pid, saved, inSave });
    });
  });
}

describe('crash safety: SIGKILL during save', function () {
  this.timeout(300000);
  let dir;
  before(function () {
    dir = tmpDir('crash-');
  });
  after(function () {
    cleanup(dir);
  });

  for (const { format, file, kills } of [
    { format: 'pt', file: 'big.pt', kills: 12 },
    { format: 'safetensors', file: 'big.safetensors', kills: 10 },
  ]) {
    it(`${format}: the target is always the old or the new complete file (${kills} kills at random moments)`, async function () {
      const target = path.join(dir, file);
      let known = null; // the generation on disk
      let midSave = 0; // kills inside a save
      let midWrite = 0; // kills that left a temporary file (before the rename)
      const pids = [];
      for (let k = 0; k < kills; k++) {
        const base = (k + 1) * 1000;
        const before = new Set(fs.readdirSync(dir).filter(isTemp));
        const { pid, saved, inSave } = await runAndKill(target, format, base);
        if (inSave) midSave++;
        pids.push(pid);
        if (!fs.existsSync(target)) {
          // Killed before anything was ever saved.
          expect(known, `kill ${k}: the target vanished`).to.equal(null);
          expect(saved).to.deep.equal([]);
        } else {
          const gen = readGeneration(target, format);
          // Old (the last save that finished) or new (the one in flight, renamed just before the
          // kill could print it).
          const last = saved[saved.length - 1];
          const allowed = saved.length ? [last, last + 1] : [known, base];
          expect(allowed, `kill ${k}: generation ${gen} on disk after saves ${saved.join(',')}`).to.include(gen);
          known = gen;
        }
        const left = fs.readdirSync(dir).filter((n) => isTemp(n) && !before.has(n));
        if (left.length > 0) midWrite++;
      }
      // The kills really landed inside saves.
      expect(midSave, 'kills that hit a save in progress').to.be.at.least(Math.ceil(kills / 3));
      expect(known).to.not.equal(null);
      console.log(
        `      ${kills} kills, ${midSave} inside a save (${midWrite} before its rename, leaving a temporary file); no torn file`,
      );
    });
  }

  it('a later save removes the temporaries of dead writers older than staleTempSeconds, and only those', function () {
    const names = fs.readdirSync(dir);
    const leftovers = names.filter(isTemp);
    expect(leftovers.length, 'temporary files left by the kills').to.be.greaterThan(0);
    const old = (Date.now() - (jepa.limits.staleTempSeconds + 60) * 1000) / 1000;
    const age = (p) => {
      if (fs.statSync(p).isDirectory()) for (const f of fs.readdirSync(p)) fs.utimesSync(path.join(p, f), old, old);
      fs.utimesSync(p, old, old);
    };
    for (const n of leftovers) age(path.join(dir, n));
    // Kept: a writer that is alive (this process), a dead writer's file that is still fresh, a
    // name that only looks similar, and another file of the user's.
    const deadPid = 2 ** 22 + 12345; // above Linux's largest pid: never a live process
    const keep = [
      `.big.pt.jepa-tmp-${process.pid}-1a2b-0`,
      `.big.pt.jepa-tmp-${deadPid}-1a2b-1`,
      '.big.pt.jepa-tmp-notapid',
      'notes.txt',
    ];
    for (const n of keep) fs.writeFileSync(path.join(dir, n), 'x');
    age(path.join(dir, keep[0]));
    age(path.join(dir, keep[2]));
    // An aged one of a dead writer for a target of another name is removed too (the rule is per folder).
    const other = `.other.npy.jepa-tmp-${deadPid}-ff-2`;
    fs.writeFileSync(path.join(dir, other), 'partial');
    age(path.join(dir, other));

    const r = runNode(`
import jepa from 'jepa-native';
jepa.saveSync(${JSON.stringify(path.join(dir, 'big.pt'))}, { gen: -1, data: jepa.zeros([${ELEMENTS}]).fill_(-1) });`);
    expect(r.status, r.stderr).to.equal(0);
    const after = fs.readdirSync(dir);
    for (const n of leftovers) expect(after, `stale ${n} removed`).to.not.include(n);
    expect(after).to.not.include(other);
    for (const n of keep) expect(after, `${n} kept`).to.include(n);
    expect(after.filter(isTemp).sort()).to.deep.equal([keep[0], keep[1]].sort());
    expect(readGeneration(path.join(dir, 'big.pt'), 'pt')).to.equal(-1);
    // Python reads both final files.
    const out = runPython(
      `
import sys, torch
from safetensors.torch import load_file
v = torch.load(sys.argv[1], weights_only=True)
s = load_file(sys.argv[2])
print(v['gen'], bool((v['data'] == -1).all()), s['data'].numel())`,
      { args: [path.join(dir, 'big.pt'), path.join(dir, 'big.safetensors')] },
    );
    expect(out.trim()).to.equal(`-1 True ${ELEMENTS}`);
  });
});

// Training checkpoints both ways: Node saves, Python (torch.load weights_only=True, the reference
// models' load_state_dict, AdamW's load_state_dict) resumes and its next step equals Node's next
// step; Python saves, Node resumes, same next step. Plus Module.stateDict / loadStateDict and the
// errors of checkpoints that do not fit.
import path from 'node:path';
import { expect } from 'chai';
import { after, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { pythonJson, rejection, ROOT, thrown } from './helpers.mjs';
import {
  build,
  cleanupDirs,
  compare,
  fixture,
  ijepaEager,
  ijepaFiles,
  ijepaMasks,
  nodeParams,
  python,
  randnSpec,
  scratch,
  stepSpec,
  testSchedules,
  TOL,
} from './train-helpers.mjs';

after(cleanupDirs);

const loadIjepa = () => Object.fromEntries(Object.entries(ijepaFiles).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
const batchSpec = (i) => ({ images: randnSpec([2, 3, 32, 32], 100 + i), ...ijepaMasks(20 + i) });
const toBatch = (spec) => {
  const t = build(spec);
  return { images: t.images, masks: { context: t.context, targets: t.targets } };
};
const newTrainer = (modules = loadIjepa(), options = {}) =>
  new jepa.Trainer({ kind: 'ijepa', ...modules, ...testSchedules(), ...options });

describe('Trainer checkpoints: Node <-> Python (I-JEPA layout)', function () {
  this.timeout(60000);

  it('Node saves; Python loads it (weights_only=True) into the reference models and AdamW; the next steps agree (1e-5)', async () => {
    const trainer = newTrainer();
    const first = await trainer.step(toBatch(batchSpec(0)));
    trainer.epoch = 3;
    const file = path.join(scratch(), 'ckpt.pt');
    await trainer.save(file);
    const second = await trainer.step(toBatch(batchSpec(1)));

    // What Python sees in the file.
    const seen = pythonJson(
      `import sys, torch
c = torch.load(sys.argv[1], weights_only=True)
g = c['opt']['param_groups']
print(__import__('json').dumps({'keys': list(c.keys()), 'types': {k: type(v).__name__ for k, v in c.items()},
  'groups': [{k: (list(v) if isinstance(v, tuple) else v) for k, v in x.items()} for x in g],
  'state': sorted(c['opt']['state'].keys()), 'step0': c['opt']['state'][1]['step'].item(),
  'stepDtype': str(c['opt']['state'][1]['step'].dtype)}))`,
      { args: [file] },
    );
    expect(seen.keys).to.deep.equal([
      'encoder',
      'predictor',
      'target_encoder',
      'opt',
      'scaler',
      'epoch',
      'loss',
      'batch_size',
      'world_size',
      'lr',
      'step',
    ]);
    expect(seen.types).to.include({
      encoder: 'OrderedDict',
      opt: 'dict',
      scaler: 'NoneType',
      epoch: 'int',
      loss: 'float',
      lr: 'float',
      step: 'int',
    });
    expect(seen.groups).to.have.length(4);
    expect(seen.groups[2]).to.include({
      WD_exclude: true,
      weight_decay: 0,
      amsgrad: false,
      decoupled_weight_decay: true,
    });
    expect(seen.groups[0].betas).to.deep.equal([0.9, 0.999]);
    expect(seen.step0).to.equal(1);
    expect(seen.stepDtype).to.equal('torch.float32');
    // pos_embed (parameter 0, no gradient) has no optimizer state, as in Python.
    expect(seen.state[0]).to.equal(1);
    expect(seen.state.length).to.be.lessThan(seen.groups.reduce((n, g) => n + g.params.length, 0));

    // Python: the eager reference models of scripts/models/ijepa.py resume from the file.
    const s = testSchedules();
    const py = await python({
      kind: 'ijepa',
      files: ijepaFiles,
      eager: ijepaEager,
      threads: jepa.getNumThreads(),
      resume: file,
      steps: [stepSpec(s, 1, batchSpec(1))],
    });
    expect(py.resumed).to.include({ epoch: 3, step: 1, batch_size: 2 });
    expect(py.resumed.loss).to.equal(first.loss);
    expect(py.resumed.lr).to.equal(first.lr);
    expect(Math.abs(py.losses[0] - second.loss), `${py.losses[0]} vs ${second.loss}`).to.be.at.most(TOL);
    compare(nodeParams(trainer.modules), py.params);
  });

  it('Python saves (torch.save of its state_dicts and AdamW state); Node resumes; the next steps agree (1e-5)', async () => {
    const file = path.join(scratch(), 'py.pt');
    const s = testSchedules();
    const py = await python({
      kind: 'ijepa',
      files: ijepaFiles,
      eager: ijepaEager,
      threads: jepa.getNumThreads(),
      steps: [stepSpec(s, 0, batchSpec(0)), stepSpec(s, 1, batchSpec(1))],
      save: { path: file, after: 0, epoch: 7 },
    });
    const trainer = newTrainer();
    const r = await trainer.load(file);
    expect(r).to.deep.equal({ step: 1, epoch: 7 });
    expect(trainer.stepCount).to.equal(1);
    expect(trainer.epoch).to.equal(7);
    const next = await trainer.step(toBatch(batchSpec(1)));
    expect(next.step).to.equal(1);
    expect(next.lr).to.equal(s.lr.at(1));
    expect(Math.abs(py.losses[1] - next.loss), `${py.losses[1]} vs ${next.loss}`).to.be.at.most(TOL);
    compare(nodeParams(trainer.modules), py.params);
  });

  it('sync round trip in Node: weights, optimizer state, step and epoch come back; `module.` prefixes are removed', () => {
    const a = newTrainer();
    a.stepSync(toBatch(batchSpec(0)));
    a.stepSync(toBatch(batchSpec(1)));
    a.epoch = 2;
    const file = path.join(scratch(), 'node.pt');
    a.saveSync(file, { loss: 0.5, batchSize: 64, worldSize: 8 });
    const raw = jepa.loadSync(file);
    expect(raw).to.include({ loss: 0.5, batch_size: 64, world_size: 8, epoch: 2, step: 2 });

    const b = newTrainer();
    expect(b.loadSync(file)).to.deep.equal({ step: 2, epoch: 2 });
    expect(nodeParams(b.modules)).to.deep.equal(nodeParams(a.modules));
    const sa = a.native.optimizerState();
    const sb = b.native.optimizerState();
    expect(sb.map((x) => x === null)).to.deep.equal(sa.map((x) => x === null));
    sa.forEach((x, i) => {
      if (x) expect([...sb[i].expAvgSq.data()]).to.deep.equal([...x.expAvgSq.data()]);
    });
    // Both take the same next step.
    const batch = toBatch(batchSpec(2));
    expect(b.stepSync(batch).loss).to.equal(a.stepSync(batch).loss);
    expect(nodeParams(b.modules)).to.deep.equal(nodeParams(a.modules));

    // DistributedDataParallel prefixes (I-JEPA saves its wrapped encoder and predictor).
    const wrapped = { ...raw };
    for (const k of ['encoder', 'predictor']) wrapped[k] = new Map([...raw[k]].map(([n, t]) => [`module.${n}`, t]));
    const c = newTrainer();
    c.loadStateDict(wrapped);
    for (const [n, t] of c.modules.context.namedParameters())
      expect([...t.data()]).to.deep.equal([...raw.encoder.get(n).data()]);
    expect(c.stepCount).to.equal(2);
  });

  it('a checkpoint that does not fit changes nothing and says what differs', async () => {
    const a = newTrainer();
    a.stepSync(toBatch(batchSpec(0)));
    const good = a.stateDict();
    const b = newTrainer();
    const before = nodeParams(b.modules);

    const missing = { ...good };
    delete missing.target_encoder;
    delete missing.opt;
    let err = thrown(() => b.loadStateDict(missing));
    expect(err.code).to.equal('JEPA_CHECKPOINT_INVALID');
    expect(err.message).to.match(
      /^the checkpoint has no 'target_encoder', 'opt' \(an I-JEPA \/ V-JEPA checkpoint holds 'encoder', 'predictor', 'target_encoder', 'opt', 'epoch', 'step'\); its keys are 'encoder', 'predictor'/,
    );

    const vjepaTarget = jepa.loadModuleSync(fixture('vjepa/target_encoder.pt'));
    const wrongShapes = { ...good, target_encoder: vjepaTarget.stateDict() };
    err = thrown(() => b.loadStateDict(wrongShapes));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.message).to.include("checkpoint['target_encoder'] does not match the target encoder (");
    expect(err.message).to.include('patch_embed.proj.weight: checkpoint [32, 3, 2, 8, 8], module [32, 3, 8, 8]');

    const extra = new Map(good.encoder);
    extra.set('head.weight', jepa.zeros([2]));
    extra.delete('norm.bias');
    err = thrown(() => b.loadStateDict({ ...good, encoder: extra }));
    expect(err.message).to.equal(
      "checkpoint['encoder'] does not match the context encoder (missing keys: norm.bias; unexpected keys: head.weight)",
    );

    // An optimizer with other parameter groups (no I-JEPA weight-decay exclusion: one group).
    const oneGroup = newTrainer(loadIjepa(), { excludeBiasAndNorm: false });
    err = thrown(() => oneGroup.loadStateDict(good));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.message).to.match(
      /^checkpoint\['opt'\] has 4 parameter groups of \[\d+, \d+, \d+, \d+\] parameters, the trainer's optimizer 1 of \[61\]$/,
    );

    err = thrown(() => b.loadStateDict(new Map()));
    expect(err.code).to.equal('JEPA_CHECKPOINT_INVALID');
    err = await rejection(b.load(path.join(scratch(), 'absent.pt')));
    expect(err.code).to.equal('JEPA_FILE_NOT_FOUND');
    expect(nodeParams(b.modules)).to.deep.equal(before);
    expect(b.stepCount).to.equal(0);
    expect(thrown(() => b.saveSync(path.join(scratch(), 'x.pt'), { worldSize: 0 })).message).to.equal(
      'expected `options.worldSize` to be a positive integer, got 0',
    );
  });

  it('save and load queue behind pending steps; the sync forms refuse to run beside them', async () => {
    const t = newTrainer();
    const file = path.join(scratch(), 'q.pt');
    const step = t.step(toBatch(batchSpec(0)));
    const saved = t.save(file);
    expect(thrown(() => t.saveSync(file)).code).to.equal('JEPA_MODULE_BUSY');
    await Promise.all([step, saved]);
    expect(jepa.loadSync(file).step).to.equal(1);
    // Bad options reject (never throw) with the caller's stack.
    const err = await rejection(t.save(file, { epoch: -1 }));
    expect(err.message).to.equal('expected `options.epoch` to be a non-negative integer, got -1');
    expect(err.stack).to.include('checkpoint.test.mjs');
  });
});

describe('Module.stateDict / loadStateDict', function () {
  this.timeout(60000);

  it("Python's eager reference model loads a Node state dict (strict); Node loads Python's", () => {
    const m = jepa.loadModuleSync(ijepaFiles.context);
    const dir = scratch();
    jepa.saveSync(path.join(dir, 'node.pt'), m.stateDict());
    const out = pythonJson(
      `import sys, json, torch
sys.path.insert(0, sys.argv[2])
from ijepa import vit
e = vit(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)
r = e.load_state_dict(torch.load(sys.argv[1] + '/node.pt', weights_only=True), strict=True)
torch.manual_seed(3)
f = vit(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)
torch.save(f.state_dict(), sys.argv[1] + '/py.pt')
print(json.dumps({'missing': r.missing_keys, 'unexpected': r.unexpected_keys, 'norm': float(f.norm.weight.sum() + f.blocks[0].attn.qkv.weight.sum())}))`,
      { args: [dir, path.join(ROOT, 'scripts', 'models')] },
    );
    expect(out).to.deep.equal({ missing: [], unexpected: [], norm: out.norm });
    const sd = jepa.loadSync(path.join(dir, 'py.pt'));
    expect(m.loadStateDict(sd)).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
    const p = m.namedParameters();
    const sum = (t) => [...t.data()].reduce((a, b) => a + b, 0);
    expect(sum(p.get('norm.weight')) + sum(p.get('blocks.0.attn.qkv.weight'))).to.be.closeTo(out.norm, 1e-3);
    expect(p.get('norm.weight').sharesStorage(m.stateDict().get('norm.weight'))).to.equal(true);
  });

  it('strict: false reports missing and unexpected keys; shapes always fail; bad arguments are TypeErrors', () => {
    const m = jepa.loadModuleSync(ijepaFiles.context);
    const sd = m.stateDict();
    const part = { 'norm.weight': jepa.ones([32]), extra: jepa.ones([1]) };
    const r = m.loadStateDict(part, { strict: false });
    expect(r.unexpectedKeys).to.deep.equal(['extra']);
    expect(r.missingKeys).to.have.length(sd.size - 1);
    expect([...m.namedParameters().get('norm.weight').data()].every((x) => x === 1)).to.equal(true);
    const err = thrown(() => m.loadStateDict({ 'norm.weight': jepa.ones([3]) }, { strict: false }));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.message).to.equal(
      'the state dict does not match the module (shape mismatch: norm.weight: state dict [3], module [32])',
    );
    expect(thrown(() => m.loadStateDict(new Map([['norm.weight', 1]]))).message).to.equal(
      "expected `stateDict['norm.weight']` to be a Tensor, got 1",
    );
    expect(thrown(() => m.loadStateDict(sd, { strict: 1 })).message).to.equal(
      'expected `options.strict` to be a boolean, got 1',
    );
  });
});

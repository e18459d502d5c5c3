// Scoped disposal (issue 17, item 1): `using` declarations (Symbol.dispose on Tensor, Module and
// PtArchive) and jepa.tidy / tidyAsync / keep.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, ROOT, thrown, tmpDir } from './helpers.mjs';
import { FIXTURES } from './model-fixtures.mjs';

const require = createRequire(import.meta.url);
const ts = require('typescript');

/**
 * Compiles TypeScript with `using` declarations as the package's users do (tsc, target ES2022,
 * which lowers `using` to try/finally calls of Symbol.dispose) and runs it with `jepa` in scope.
 */
function runTs(source, scope) {
  const { outputText, diagnostics } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
    reportDiagnostics: true,
  });
  expect(diagnostics ?? []).to.deep.equal([]);
  const module = { exports: {} };
  vm.runInThisContext(`(function (exports, module, require, scope) {${outputText}\n})`)(
    module.exports,
    module,
    require,
    scope,
  );
  return module.exports;
}

describe('Symbol.dispose and `using`', () => {
  let dir;
  before(() => {
    dir = tmpDir();
    jepa.saveSync(path.join(dir, 'x.pt'), { a: jepa.ones([2]) });
  });
  after(() => cleanup(dir));

  it('is the runtime symbol TypeScript uses, defined once', () => {
    expect(typeof Symbol.dispose).to.equal('symbol');
    expect(Symbol.dispose).to.equal(Symbol.for('nodejs.dispose')); // Node's definition, kept as it is
    const t = jepa.zeros([1]);
    expect(t[Symbol.dispose]).to.be.a('function');
    t[Symbol.dispose]();
    expect(t.isDisposed).to.equal(true);
  });

  it('disposes a Tensor, a Module and a PtArchive at the end of a `using` block, also on throw', () => {
    const scope = { jepa, model: path.join(FIXTURES, 'motion_ae.pt'), file: path.join(dir, 'x.pt'), seen: {} };
    const out = runTs(
      `
      const { jepa, model, file, seen } = scope;
      export function run(fail: boolean) {
        using t = jepa.ones([3]);
        using m = jepa.loadModuleSync(model);
        using archive = jepa.openSync(file);
        seen.t = t; seen.m = m; seen.archive = archive;
        seen.sum = (t.sum().item() as number) + ((archive.getSync('a') as any).sum().item() as number);
        expect(m.isDisposed).toBe(false);
        if (fail) throw new Error('boom');
        return t.isDisposed;
      }
      function expect(v: unknown) { return { toBe(w: unknown) { if (v !== w) throw new Error('unexpected ' + v); } }; }
    `,
      scope,
    );
    expect(out.run(false)).to.equal(false); // alive inside the block
    expect(scope.seen.sum).to.equal(5);
    expect(scope.seen.t.isDisposed).to.equal(true);
    expect(scope.seen.m.isDisposed).to.equal(true);
    expect(thrown(() => scope.seen.archive.getSync('a')).code).to.equal('JEPA_DISPOSED');
    expect(() => out.run(true)).to.throw('boom');
    expect(scope.seen.t.isDisposed).to.equal(true);
    expect(scope.seen.m.isDisposed).to.equal(true);
  });

  it('is declared in the typings (a tsc-checked `using` of each type compiles)', () => {
    // test/types/usage.mts holds the `using` declarations that `npm run test:types` checks
    const usage = fs.readFileSync(path.join(ROOT, 'test', 'types', 'usage.mts'), 'utf8');
    expect(usage).to.match(/using \w+ = jepa\.zeros/);
  });
});

describe('jepa.tidy / tidyAsync / keep', () => {
  const live = () => jepa.memory().tensors;

  it('disposes what fn makes except what it returns, in nested containers', () => {
    const before = live();
    let inner;
    const result = jepa.tidy(() => {
      const a = jepa.ones([4]);
      inner = a.mul(2);
      const b = inner.add(1);
      return { sum: b.sum(), parts: [b, new Map([['x', a]])], n: 3 };
    });
    expect(inner.isDisposed).to.equal(true);
    expect(result.sum.item()).to.equal(12);
    expect(result.parts[0].isDisposed).to.equal(false);
    expect(result.parts[1].get('x').isDisposed).to.equal(false);
    expect(live()).to.equal(before + 3);
    for (const t of [result.sum, result.parts[0], result.parts[1].get('x')]) t.dispose();
    expect(live()).to.equal(before);
  });

  it('covers tensors made by ops, factories, load, views and module calls; leaves older tensors alone', () => {
    const outside = jepa.ones([2]);
    const model = jepa.loadModuleSync(path.join(FIXTURES, 'motion_ae.pt'));
    const input = jepa.randn([2, 5, 6, 24], { seed: 0 });
    const made = [];
    jepa.tidy(() => {
      made.push(outside.add(1), outside.view(2, 1), jepa.zeros([3]), jepa.tensor([1, 2]), model.forwardSync(input));
    });
    for (const t of made.flat(Infinity).filter((t) => t instanceof jepa.Tensor)) expect(t.isDisposed).to.equal(true);
    expect(outside.isDisposed).to.equal(false);
    expect(input.isDisposed).to.equal(false);
    outside.dispose();
    input.dispose();
    model.dispose();
  });

  it('nests: an inner tidy hands its result to the outer one, which disposes it unless returned', () => {
    let innerResult;
    let kept;
    const outer = jepa.tidy(() => {
      innerResult = jepa.tidy(() => jepa.ones([2]).mul(3));
      expect(innerResult.isDisposed).to.equal(false);
      kept = jepa.tidy(() => jepa.ones([2]).mul(4));
      return kept;
    });
    expect(innerResult.isDisposed).to.equal(true);
    expect(outer).to.equal(kept);
    expect(kept.isDisposed).to.equal(false);
    kept.dispose();
  });

  it('keep() exempts a tensor from every scope', () => {
    let k;
    jepa.tidy(() => {
      jepa.tidy(() => {
        k = jepa.keep(jepa.ones([1]));
      });
    });
    expect(k.isDisposed).to.equal(false);
    k.dispose();
    expect(thrown(() => jepa.keep(3)).code).to.equal('JEPA_INVALID_ARGUMENT');
  });

  it('disposes everything when fn throws, and refuses an async fn', () => {
    let t;
    expect(() =>
      jepa.tidy(() => {
        t = jepa.ones([1]);
        throw new Error('inside');
      }),
    ).to.throw('inside');
    expect(t.isDisposed).to.equal(true);
    const e = thrown(() => jepa.tidy(async () => jepa.ones([1])));
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(e.message).to.match(/tidyAsync/);
  });

  it('tidyAsync follows its own async context across awaits, not concurrent work', async () => {
    const made = [];
    let unrelated;
    const gate = new Promise((resolve) => setTimeout(resolve, 5));
    const other = (async () => {
      await gate;
      unrelated = jepa.ones([1]); // made while the tidyAsync below is pending, outside its context
    })();
    const result = await jepa.tidyAsync(async () => {
      made.push(jepa.ones([2]));
      await gate;
      await other;
      made.push(await jepa.ones([2]).toAsync('float64'));
      return made[1].add(1);
    });
    for (const t of made) expect(t.isDisposed).to.equal(true);
    expect(unrelated.isDisposed).to.equal(false);
    expect(result.isDisposed).to.equal(false);
    expect(Array.from(result.data())).to.deep.equal([2, 2]);
    result.dispose();
    unrelated.dispose();
    let t;
    const e = await jepa
      .tidyAsync(async () => {
        t = jepa.ones([1]);
        throw new Error('async boom');
      })
      .catch((err) => err);
    expect(e.message).to.equal('async boom');
    expect(t.isDisposed).to.equal(true);
  });
});

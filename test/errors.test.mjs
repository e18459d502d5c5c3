import { expect } from 'chai';
import { describe, it } from 'mocha';
import jepa from 'jepa-native';
import { rejection } from './helpers.mjs';

/** Asserts that fn throws an error of `type` with `code` and a message matching `re`. */
function throwsWith(fn, type, code, re) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').to.be.instanceOf(type);
  expect(err.code).to.equal(code);
  expect(err.message).to.match(re);
  expect(err.message).to.not.match(/Exception raised from|frame #\d/); // no C++ backtrace
  return err;
}

describe('errors: bad input never crashes', () => {
  it('data length that does not match the shape', () => {
    throwsWith(
      () => jepa.tensor(new Float32Array(6), [2, 2]),
      Error,
      'JEPA_SHAPE_MISMATCH',
      /6 elements but shape \[2, 2\] needs 4/,
    );
    throwsWith(() => jepa.tensor([1, 2, 3], [2]), Error, 'JEPA_SHAPE_MISMATCH', /3 elements/);
  });

  it('unknown dtype', () => {
    throwsWith(
      () => jepa.zeros([2], { dtype: 'float8' }),
      TypeError,
      'JEPA_UNKNOWN_DTYPE',
      /expected `options.dtype` to be one of float32, .*got "float8"/,
    );
    throwsWith(() => jepa.tensor([1], { dtype: 'complex64' }), TypeError, 'JEPA_UNKNOWN_DTYPE', /got "complex64"/);
    throwsWith(() => jepa.ones([1]).to('float128'), TypeError, 'JEPA_UNKNOWN_DTYPE', /float128/);
  });

  it("device 'cuda' without CUDA", function () {
    if (jepa.cuda.isAvailable()) this.skip();
    throwsWith(
      () => jepa.zeros([2], { device: 'cuda' }),
      Error,
      'JEPA_CUDA_UNAVAILABLE',
      /requested but (this libtorch is a CPU build|no CUDA device is usable)/,
    );
    throwsWith(() => jepa.ones([2]).to('cuda:0'), Error, 'JEPA_CUDA_UNAVAILABLE', /cuda:0/);
    throwsWith(() => jepa.tensor(new Float32Array(2), { device: 'cuda' }), Error, 'JEPA_CUDA_UNAVAILABLE', /CUDA/);
  });

  it("toAsync('cuda') without CUDA rejects (not throws)", async function () {
    if (jepa.cuda.isAvailable()) this.skip();
    const p = jepa.ones([2]).toAsync('cuda');
    expect(p).to.be.instanceOf(Promise);
    const err = await rejection(p);
    expect(err.code).to.equal('JEPA_CUDA_UNAVAILABLE');
    expect(err.stack).to.contain('errors.test.mjs'); // the awaiting caller's frame
  });

  it('invalid device strings', () => {
    throwsWith(
      () => jepa.zeros([2], { device: 'gpu' }),
      TypeError,
      'JEPA_INVALID_ARGUMENT',
      /'cpu', 'cuda' or 'cuda:N', got "gpu"/,
    );
    throwsWith(() => jepa.zeros([2], { device: 'cuda:x' }), TypeError, 'JEPA_INVALID_ARGUMENT', /cuda:x/);
  });

  it('use after dispose()', () => {
    const t = jepa.ones([3]);
    t.dispose();
    throwsWith(() => t.shape, Error, 'JEPA_DISPOSED', /disposed/);
    throwsWith(() => t.data(), Error, 'JEPA_DISPOSED', /disposed/);
    throwsWith(() => t.reshape(3), Error, 'JEPA_DISPOSED', /disposed/);
    throwsWith(() => jepa.ones([3]).copy_(t), Error, 'JEPA_DISPOSED', /disposed/);
    expect(t.isDisposed).to.equal(true);
  });

  it('data() of a non-contiguous tensor', () => {
    const t = jepa.zeros([2, 3]).permute(1, 0);
    throwsWith(() => t.data(), Error, 'JEPA_NOT_CONTIGUOUS', /contiguous\(\) first/);
  });

  it('data() of a CUDA tensor', async function () {
    if (!jepa.cuda.isAvailable()) this.skip();
    throwsWith(() => jepa.zeros([2], { device: 'cuda' }).data(), Error, 'JEPA_NOT_CPU', /cpu\(\) first/);
  });

  it('wrong argument types are TypeErrors saying what was expected', () => {
    throwsWith(
      () => jepa.zeros('3'),
      TypeError,
      'JEPA_INVALID_ARGUMENT',
      /expected `shape` to be an array of non-negative integers, got "3"/,
    );
    throwsWith(() => jepa.zeros([2, -1]), TypeError, 'JEPA_INVALID_ARGUMENT', /got \[2, -1\]/);
    throwsWith(() => jepa.zeros([1.5]), TypeError, 'JEPA_INVALID_ARGUMENT', /got \[1.5\]/);
    throwsWith(() => jepa.tensor('abc'), TypeError, 'JEPA_INVALID_ARGUMENT', /typed array or an array/);
    throwsWith(() => jepa.tensor(new Uint32Array(2)), TypeError, 'JEPA_INVALID_ARGUMENT', /got Uint32Array\(2\)/);
    throwsWith(() => jepa.tensor(new Uint16Array(2)), TypeError, 'JEPA_INVALID_ARGUMENT', /float16.*bfloat16/);
    throwsWith(
      () => jepa.tensor(new Float32Array(2), { dtype: 'float64' }),
      TypeError,
      'JEPA_INVALID_ARGUMENT',
      /needs a Float64Array, got a Float32Array/,
    );
    throwsWith(
      () => jepa.tensor([[1, 2], [3]]),
      TypeError,
      'JEPA_INVALID_ARGUMENT',
      /ragged: data\[1\] has length 1, expected length 2/,
    );
    throwsWith(() => jepa.tensor(['a']), TypeError, 'JEPA_INVALID_ARGUMENT', /element 0 is "a"/);
    throwsWith(() => jepa.tensor([300], { dtype: 'uint8' }), TypeError, 'JEPA_INVALID_ARGUMENT', /\[0, 255\]/);
    throwsWith(
      () => jepa.tensor(new Uint8Array([0, 2]), { dtype: 'bool' }),
      Error,
      'JEPA_INVALID_ARGUMENT',
      /0 or 1; element 1 is 2/,
    );
    throwsWith(
      () => jepa.zeros([2], { dtyp: 'float32' }),
      TypeError,
      'JEPA_INVALID_ARGUMENT',
      /unknown option `options.dtyp`/,
    );
    throwsWith(() => jepa.randn([2], { seed: -1 }), TypeError, 'JEPA_INVALID_ARGUMENT', /non-negative integer/);
    throwsWith(() => jepa.arange(0, 1, 0), TypeError, 'JEPA_INVALID_ARGUMENT', /non-zero/);
    throwsWith(() => jepa.ones([2]).sharesStorage({}), TypeError, 'JEPA_INVALID_ARGUMENT', /Tensor/);
    throwsWith(() => new jepa.Tensor(), TypeError, 'JEPA_INVALID_ARGUMENT', /cannot be constructed directly/);
  });

  it('libtorch errors become JS Errors with libtorch’s message and no backtrace', () => {
    throwsWith(
      () => jepa.arange(6).view(4, -1),
      Error,
      'JEPA_TORCH_ERROR',
      /shape '\[4, -1\]' is invalid for input of size 6/,
    );
    throwsWith(() => jepa.ones([2, 3]).copy_(jepa.ones([4])), Error, 'JEPA_TORCH_ERROR', /size/);
    throwsWith(
      () => jepa.randn([2], { dtype: 'int32', seed: 1 }),
      Error,
      'JEPA_TORCH_ERROR',
      /not implemented for 'Int'/,
    );
    throwsWith(() => jepa.zeros([2, 3]).permute(1, 0).view(6), Error, 'JEPA_TORCH_ERROR', /view/);
  });

  it('the native class itself rejects misuse', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const raw = require('../build/Release/jepa_native.node');
    throwsWith(() => new raw.NativeTensor().shape(), Error, 'JEPA_DISPOSED', /disposed/);
    throwsWith(() => raw.zeros('x', 'float32', 'cpu'), TypeError, 'JEPA_INVALID_ARGUMENT', /shape/);
    throwsWith(
      () => raw.tensorFromTypedArray({}, [1], 'float32', 'cpu'),
      TypeError,
      'JEPA_INVALID_ARGUMENT',
      /typed array/,
    );
    throwsWith(
      () => raw.tensorFromTypedArray(new Float32Array(2), [3], 'float32', 'cpu'),
      Error,
      'JEPA_SHAPE_MISMATCH',
      /2 elements/,
    );
  });
});

describe('errors: one error type, one set of codes', () => {
  it('every error is a JepaError with a code: TypeScript and native, sync and async, TypeErrors too', async () => {
    const caught = [];
    const attempt = async (f) => {
      try {
        await f();
      } catch (e) {
        caught.push(e);
        return;
      }
      throw new Error(`no error from ${f}`);
    };
    await attempt(() => jepa.zeros('3')); // TypeScript validation
    await attempt(() => jepa.zeros([2], { dtype: 'float8' })); // unknown dtype (TypeScript)
    await attempt(() => jepa.arange(6).view(4, -1)); // libtorch, sync
    await attempt(() => jepa.ones([2]).toAsync('cuda:99')); // native, async
    await attempt(() => jepa.loadSync('/nonexistent/file.pt')); // native file error
    await attempt(() => jepa.load('/nonexistent/file.pt'));
    await attempt(() => jepa.saveSync('/nonexistent/dir/x.pt', { f: () => 1 })); // native value codec TypeError
    await attempt(() => jepa.loadModule('/nonexistent/m.pt'));
    await attempt(() => jepa.distributed.launch({ nproc: 0, script: 'x.js' })); // the launcher (no native code)
    for (const e of caught) {
      expect(e, String(e)).to.be.instanceOf(jepa.JepaError);
      expect(e.code, String(e)).to.match(/^JEPA_[A-Z_]+$/);
      expect(Object.values(jepa.ErrorCode)).to.include(e.code);
    }
    const typeErrors = caught.filter((e) => e instanceof TypeError);
    expect(typeErrors.length).to.equal(4);
    for (const e of typeErrors) expect(e).to.be.instanceOf(jepa.JepaTypeError);
    expect(new Error('x')).to.not.be.instanceOf(jepa.JepaError);
    expect(Object.assign(new TypeError('x'), { code: 'JEPA_INVALID_ARGUMENT' })).to.not.be.instanceOf(jepa.JepaError);
  });

  it('the error codes of native/core/errors.h and lib/core/errors.ts are the same set', async () => {
    const fs = await import('node:fs');
    const { ROOT } = await import('./helpers.mjs');
    const header = fs.readFileSync(`${ROOT}/native/core/errors.h`, 'utf8');
    const native = [...header.matchAll(/inline constexpr const char\* k\w+ = "(JEPA_[A-Z_]+)";/g)].map((m) => m[1]);
    expect(native.length).to.be.above(20);
    expect(new Set(native).size).to.equal(native.length);
    expect([...native].sort()).to.deep.equal(Object.values(jepa.ErrorCode).sort());
  });

  it('the dtypes of the tensor API are the native table’s', () => {
    expect(jepa.DTYPES).to.deep.equal([
      'float32',
      'float64',
      'float16',
      'bfloat16',
      'int8',
      'int16',
      'int32',
      'int64',
      'uint8',
      'bool',
    ]);
    for (const d of jepa.DTYPES) expect(jepa.zeros([3], { dtype: d }).nbytes / 3).to.be.oneOf([1, 2, 4, 8]);
    expect(jepa.zeros([3], { dtype: 'float16' }).nbytes).to.equal(6);
  });
});

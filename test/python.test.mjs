// Cross-language checks of tensor memory: Python (torch) and Node agree bit for bit.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, runPython, tmpDir } from './helpers.mjs';

const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool'];

function bytesOf(t) {
  const d = t.data();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

describe('tensors agree with Python torch', () => {
  let dir;
  before(() => {
    dir = tmpDir('py-');
  });
  after(() => cleanup(dir));

  it('randn with a seed equals torch.randn with a generator seeded the same', () => {
    const expected = pythonJson(`
import json, torch
out = {}
for dt in ['float32', 'float64', 'bfloat16']:
    g = torch.Generator().manual_seed(1234)
    t = torch.randn(3, 5, generator=g, dtype=getattr(torch, dt))
    out[dt] = t.view(torch.int16).flatten().tolist() if dt == 'bfloat16' else t.flatten().tolist()
torch.manual_seed(99)
out['global'] = torch.randn(7).tolist()
print(json.dumps(out))`);
    for (const dt of ['float32', 'float64']) {
      expect(Array.from(jepa.randn([3, 5], { seed: 1234, dtype: dt }).data())).to.deep.equal(expected[dt]);
    }
    const bf = jepa.randn([3, 5], { seed: 1234, dtype: 'bfloat16' }).data();
    expect(Array.from(new Int16Array(bf.buffer, bf.byteOffset, bf.length))).to.deep.equal(expected.bfloat16);
    expect(Array.from(jepa.randn([7], { seed: 99 }).data())).to.deep.equal(expected.global);
  });

  it('Python writes raw tensor bytes of every dtype; Node wraps them and reads the same values', () => {
    runPython(
      `
import torch, sys
vals = [-3.5, -1.0, 0.0, 0.5, 1.0, 2.75, 100.0, -0.0]
ints = [-100, -1, 0, 1, 2, 3, 100, 127]
d = sys.argv[1]
for dt in ${JSON.stringify(DTYPES)}:
    src = vals if dt.startswith(('float', 'bfloat')) else ([0, 1, 1, 0, 1, 0, 0, 1] if dt == 'bool' else ([0, 1, 2, 3, 100, 200, 255, 7] if dt == 'uint8' else ints))
    t = torch.tensor(src).to(getattr(torch, dt)).reshape(2, 4)
    open(f'{d}/{dt}.bin', 'wb').write(t.contiguous().view(torch.uint8).numpy().tobytes())
    open(f'{d}/{dt}.txt', 'w').write(repr(t.to(torch.float64).flatten().tolist()))
`,
      { args: [dir] },
    );
    const Ctors = {
      float32: Float32Array,
      float64: Float64Array,
      float16: Uint16Array,
      bfloat16: Uint16Array,
      int8: Int8Array,
      int16: Int16Array,
      int32: Int32Array,
      int64: BigInt64Array,
      uint8: Uint8Array,
      bool: Uint8Array,
    };
    for (const dt of DTYPES) {
      const buf = fs.readFileSync(path.join(dir, `${dt}.bin`));
      const copy = new Uint8Array(buf); // aligned copy
      const typed = new Ctors[dt](copy.buffer, 0, 8);
      const t = jepa.tensor(typed, [2, 4], { dtype: dt });
      const asF64 = Array.from(t.to('float64').data());
      const expected = JSON.parse(fs.readFileSync(path.join(dir, `${dt}.txt`), 'utf8'));
      expect(asF64, dt).to.deep.equal(expected);
    }
  });

  it('Node writes raw tensor bytes of every dtype; Python reads the same values', () => {
    for (const dt of DTYPES) {
      const values =
        dt === 'bool'
          ? [true, false, true, true]
          : dt === 'uint8'
            ? [0, 7, 200, 255]
            : dt.startsWith('float') || dt === 'bfloat16'
              ? [-1.5, 0.25, 3, 1e4]
              : [-8, 0, 3, 99];
      const t = jepa.tensor(dt === 'int64' ? values.map(BigInt) : values, [2, 2], { dtype: dt });
      fs.writeFileSync(path.join(dir, `node-${dt}.bin`), bytesOf(t));
    }
    const result = pythonJson(
      `
import json, torch, sys
d = sys.argv[1]
out = {}
for dt in ${JSON.stringify(DTYPES)}:
    raw = bytearray(open(f'{d}/node-{dt}.bin', 'rb').read())
    t = torch.frombuffer(raw, dtype=getattr(torch, dt)).reshape(2, 2)
    out[dt] = t.to(torch.float64).flatten().tolist()
print(json.dumps(out))`,
      { args: [dir] },
    );
    expect(result.bool).to.deep.equal([1, 0, 1, 1]);
    expect(result.uint8).to.deep.equal([0, 7, 200, 255]);
    for (const dt of ['float32', 'float64', 'float16', 'bfloat16'])
      expect(result[dt], dt).to.deep.equal([-1.5, 0.25, 3, dt === 'bfloat16' ? 9984 : 1e4]);
    for (const dt of ['int8', 'int16', 'int32', 'int64']) expect(result[dt], dt).to.deep.equal([-8, 0, 3, 99]);
  });

  it('dtype conversions round like torch', () => {
    const expected = pythonJson(`
import json, torch
x = torch.tensor([0.1, -2.7, 3.14159, 65519.0, 1e-8, 300.5], dtype=torch.float64)
print(json.dumps({'f16': x.to(torch.float16).view(torch.int16).tolist(), 'bf16': x.to(torch.bfloat16).view(torch.int16).tolist(), 'i32': x.to(torch.int32).tolist(), 'u8': x.abs().to(torch.uint8).tolist()}))`);
    const x = jepa.tensor([0.1, -2.7, 3.14159, 65519.0, 1e-8, 300.5], { dtype: 'float64' });
    const i16 = (t) => {
      const d = t.data();
      return Array.from(new Int16Array(d.buffer, d.byteOffset, d.length));
    };
    expect(i16(x.to('float16'))).to.deep.equal(expected.f16);
    expect(i16(x.to('bfloat16'))).to.deep.equal(expected.bf16);
    expect(Array.from(x.to('int32').data())).to.deep.equal(expected.i32);
  });
});

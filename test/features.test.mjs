// V-JEPA 2 feature utilities (seed 000): grid view and aggregation equal Python's, file naming.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, runPython, thrown, tmpDir } from './helpers.mjs';

describe('features: V-JEPA 2 layout and aggregation', () => {
  let dir;
  let features;
  let py;
  before(() => {
    dir = tmpDir();
    // The same float16 [4608, 1408] features in both languages (seeded randn), and Python's
    // aggregations written as raw float16 bytes.
    features = jepa.randn([4608, 1408], { seed: 7 }).to('float16');
    py = pythonJson(`
import json, torch
f = torch.randn(4608, 1408, generator=torch.Generator().manual_seed(7)).to(torch.float16)
grid = f.view(8, 576, 1408).view(8, 24, 24, 1408)
out = {"mean": f.mean(dim=0), "temporal": grid.mean(dim=(1, 2)), "spatial": grid.mean(dim=0),
       "global": grid.mean(dim=(0, 1, 2)), "frame0": grid[0], "center": grid[:, 12, 12]}
for k, v in out.items():
    open(${JSON.stringify(dir)} + "/" + k + ".bin", "wb").write(v.contiguous().view(torch.int16).numpy().tobytes())
print(json.dumps({k: list(v.shape) for k, v in out.items()}))`);
  });
  after(() => cleanup(dir));

  const bits = (t) => Buffer.from(t.contiguous().data().buffer, t.contiguous().data().byteOffset, t.nbytes);
  const pyBits = (name) => fs.readFileSync(path.join(dir, `${name}.bin`));

  it('featureGrid() is the [8, 24, 24, 1408] view, sharing memory', () => {
    const grid = jepa.features.featureGrid(features);
    expect(grid.shape).to.deep.equal([8, 24, 24, 1408]);
    expect(grid.sharesStorage(features)).to.equal(true);
    expect(jepa.features.VJEPA2_LAYOUT).to.deep.equal({ frames: 8, gridSize: 24, dim: 1408, patches: 4608 });
  });

  it('aggregations equal Python bit for bit (float16)', () => {
    expect(bits(jepa.features.aggregateFeatures(features)).equals(pyBits('mean'))).to.equal(true);
    for (const m of ['mean', 'temporal', 'spatial', 'global']) {
      const t = jepa.features.aggregateFeatures(features, m);
      expect(t.shape, m).to.deep.equal(py[m]);
      expect(t.dtype).to.equal('float16');
      expect(bits(t).equals(pyBits(m)), m).to.equal(true);
    }
    const h = jepa.features.aggregateFeatures(features, 'hierarchical');
    expect(bits(h.temporal).equals(pyBits('temporal'))).to.equal(true);
    expect(bits(h.spatial).equals(pyBits('spatial'))).to.equal(true);
    expect(bits(h.global).equals(pyBits('global'))).to.equal(true);
  });

  it('frame and patch views equal grid[0] and grid[:, 12, 12]', () => {
    const f0 = jepa.features.frameFeatures(features, 0);
    expect(f0.shape).to.deep.equal([24, 24, 1408]);
    expect(bits(f0).equals(pyBits('frame0'))).to.equal(true);
    const c = jepa.features.patchFeatures(features, 12, 12);
    expect(c.shape).to.deep.equal([8, 1408]);
    expect(bits(c).equals(pyBits('center'))).to.equal(true);
  });

  it('other layouts, and bad input', () => {
    const small = jepa.randn([2 * 3 * 3, 5], { seed: 1 });
    expect(jepa.features.aggregateFeatures(small, 'spatial', { frames: 2, gridSize: 3 }).shape).to.deep.equal([
      3, 3, 5,
    ]);
    let e = thrown(() => jepa.features.aggregateFeatures(small));
    expect(e.message).to.equal('expected `features` to have shape [4608, D] (8 frames x 24 x 24 patches), got [18, 5]');
    e = thrown(() => jepa.features.aggregateFeatures(features, 'median'));
    expect(e.message).to.include('expected `method` to be one of mean, temporal, spatial, global, hierarchical');
    e = thrown(() => jepa.features.frameFeatures(features, 8));
    expect(e.message).to.equal('expected `frame` to be an integer in [0, 7], got 8');
    e = thrown(() => jepa.features.featureGrid(features, { frames: 0 }));
    expect(e.message).to.include('expected `layout.frames` to be a positive integer');
    e = thrown(() => jepa.features.aggregateFeatures(jepa.zeros([4608, 3], { dtype: 'int64' })));
    expect(e.message).to.include('floating point');
  });
});

describe('features: files', () => {
  it('names files as the seed does', () => {
    const info = { gbifId: 1291162453, taxonId: 2650927, species: 'Nephrolepis exaltata', imageNumber: 1 };
    expect(jepa.features.featureFileName(info)).to.equal(
      'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1_features.pt',
    );
    expect(jepa.features.featureFilePath('/data', info)).to.equal(
      '/data/taxon_2650927/gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1_features.pt',
    );
    expect(
      jepa.features.parseFeatureFileName('/x/gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_2_features.pt'),
    ).to.deep.equal({
      gbifId: '1291162453',
      taxonId: '2650927',
      species: 'nephrolepis_exaltata',
      imageNumber: 2,
    });
    expect(jepa.features.parseFeatureFileName('features.pt')).to.equal(null);
    expect(jepa.features.speciesSlug('Quercus × robur  L.')).to.equal('quercus_robur_l');
    expect(jepa.features.featureFileName({ ...info, gbifId: 12345678901234567890n })).to.include(
      'gbif_12345678901234567890_',
    );
    expect(thrown(() => jepa.features.featureFileName({ ...info, gbifId: -1 })).message).to.include('info.gbifId');
    expect(thrown(() => jepa.features.featureFileName({ ...info, imageNumber: 1.5 })).message).to.include(
      'info.imageNumber',
    );
  });

  it("builds the seed's dict {features, shape, dtype, source_chunk, image_id}", () => {
    const f = jepa.zeros([4608, 1408], { dtype: 'float16' });
    const d = jepa.features.featureDict(f, { sourceChunk: 'chunk_0003.pt', imageId: '1291162453_1' });
    expect(Object.keys(d)).to.deep.equal(['features', 'shape', 'dtype', 'source_chunk', 'image_id']);
    expect(d.shape).to.be.instanceOf(jepa.Size);
    expect([...d.shape]).to.deep.equal([4608, 1408]);
    expect(d.dtype).to.equal('float16');
    expect(d.features).to.equal(f);
  });

  it('writeFeatureFile() writes the seed 000 dict with jepa.save; Python reads it', async () => {
    const dir = tmpDir();
    try {
      const info = { gbifId: 1, taxonId: 2, species: 'Nephrolepis exaltata', imageNumber: 3 };
      const f = jepa.randn([4608, 16], { seed: 3 }).to('float16');
      const write = jepa.features.writeFeatureFile(dir, info, f, { sourceChunk: 'c.pt', imageId: '1_3' });
      const file = await write;
      expect(file).to.equal(path.join(dir, 'taxon_2', 'gbif_1_taxon_2_nephrolepis_exaltata_img_3_features.pt'));
      const out = runPython(`
import torch
d = torch.load(${JSON.stringify(file)})
ref = torch.randn(4608, 16, generator=torch.Generator().manual_seed(3)).to(torch.float16)
assert list(d.keys()) == ["features", "shape", "dtype", "source_chunk", "image_id"], d.keys()
assert torch.equal(d["features"], ref)
assert isinstance(d["shape"], torch.Size) and d["shape"] == torch.Size([4608, 16])
assert d["dtype"] == "float16" and d["source_chunk"] == "c.pt" and d["image_id"] == "1_3"
print("ok")`);
      expect(out.trim()).to.equal('ok');
    } finally {
      cleanup(dir);
    }
  });
});

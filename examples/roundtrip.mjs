// The Node half of examples/python_roundtrip.py: reads what Python wrote in DIR, computes in
// libtorch, writes files for Python to check.
//
//   node examples/roundtrip.mjs DIR
//
// DIR/features.pt (a V-JEPA 2 feature dict, seed 000) -> DIR/aggregated.pt: the seed's
// aggregations {mean, temporal, spatial, global}; DIR/state_dict.pt -> DIR/state_dict_node.pt
// (the same OrderedDict written back) and DIR/state_dict_node.safetensors.
import path from 'node:path';
import jepa from 'jepa-native';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node examples/roundtrip.mjs DIR');
  process.exit(2);
}

const feat = await jepa.load(path.join(dir, 'features.pt'), { mmap: true });
console.log(`features ${feat.features.dtype} [${feat.features.shape}] from ${feat.source_chunk}`);
const h = jepa.features.aggregateFeatures(feat.features, 'hierarchical');
await jepa.save(path.join(dir, 'aggregated.pt'), {
  mean: jepa.features.aggregateFeatures(feat.features, 'mean'),
  temporal: h.temporal,
  spatial: h.spatial,
  global: h.global,
  image_id: feat.image_id,
});

const state = await jepa.load(path.join(dir, 'state_dict.pt'));
await jepa.save(path.join(dir, 'state_dict_node.pt'), state);
await jepa.saveSafetensors(path.join(dir, 'state_dict_node.safetensors'), state, {
  metadata: { written_by: 'jepa-native' },
});
console.log(`state_dict: ${state.size} tensors written back as .pt and safetensors`);

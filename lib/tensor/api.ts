/**
 * The public op namespaces: `jepa.linalg` (torch.linalg) and `jepa.nn.functional`
 * (torch.nn.functional), the generated members together with the hand-written ones.
 * @module
 */
import { interpolate, normalize } from './functional';
import { linalgOps, nnFunctionalOps } from './namespaces.generated';
import { cosine_similarity, dropout, layer_norm, log_softmax, relu, softmax } from './ops.generated';

/** torch.linalg: `svd`, `qr`, `eigh`, `inv`, `det`, `solve`, `norm`, `vector_norm`, ... (docs/tensors.md lists them). */
export const linalg = { ...linalgOps };

/**
 * torch.nn.functional: activations, `linear`, `pad`, `one_hot`, losses, attention, `normalize`,
 * `interpolate`, and `softmax` / `log_softmax` / `layer_norm` / `cosine_similarity` / `relu` /
 * `dropout` (the jepa functions of the same name). `const F = jepa.nn.functional` reads as in Python.
 */
export const nn = {
  functional: {
    ...nnFunctionalOps,
    normalize,
    interpolate,
    softmax,
    log_softmax,
    layer_norm,
    cosine_similarity,
    relu,
    dropout,
  },
};

// Type test for CommonJS consumers.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import jepa = require('jepa-native');

const t: jepa.Tensor = jepa.ones([2, 2]);
const n: number = t.numel;
void n;

#!/usr/bin/env node
'use strict';
// The `jepa-native` command (npx jepa-native ...): see docs/cli.md. Exit codes: 0 done,
// 1 error, 2 bad command line, 3 `extract` finished with some inputs skipped as bad.
const { main } = require('../dist/cli/main.js');

// `jepa-native inspect big.pt | head`: a closed pipe ends the output quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`jepa-native: internal error: ${(e && e.stack) || e}\n`);
    process.exitCode = 1;
  },
);

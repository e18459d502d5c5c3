#!/usr/bin/env node
'use strict';
// Prints the libtorch that a build would use and how it was found (the discovery chain of
// lib/core/libtorch.ts: LIBTORCH, python3's torch, the project-local .venv), or why none was.
//
//   node scripts/install/show-libtorch.js

const { core } = require('./compiled');

try {
  const info = core('libtorch').findLibtorch({ log: (line) => console.error(line) });
  console.log(JSON.stringify(info, null, 2));
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

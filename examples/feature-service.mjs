// A feature-extraction HTTP service: POST an image (its encoded bytes), get back the encoder's
// patch features pooled to one embedding. Requests that arrive together are batched into one
// model call (up to --max-batch, waiting at most --wait-ms), and the model runs on a worker
// thread, so the event loop keeps serving.
//
//   node examples/feature-service.mjs [--model FILE] [--port N] [--max-batch N] [--wait-ms N]
//   curl --data-binary @photo.jpg http://127.0.0.1:PORT/embed
//     -> {"shape":[16,32],"embedding":[...32 numbers],"batch":1,"ms":3.1}
//
// --model: a TorchScript encoder with input_shape() (default: the test I-JEPA encoder);
// --port 0 picks a free port; the first line printed is "listening on http://HOST:PORT".
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import jepa from 'jepa-native';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    model: {
      type: 'string',
      default: path.join(here, '..', 'test', 'fixtures', 'models', 'ijepa', 'target_encoder.pt'),
    },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'max-batch': { type: 'string', default: '8' },
    'wait-ms': { type: 'string', default: '5' },
  },
});

const encoder = await jepa.loadModule(args.model);
const [channels, height, width] = encoder.runSync('input_shape');
if (channels !== 3) throw new Error(`${args.model} takes ${channels} channels; this service feeds RGB images`);
const maxBatch = Number(args['max-batch']);
const waitMs = Number(args['wait-ms']);

// Micro-batching: queue requests, run them together.
let queue = [];
let timer = null;

async function runBatch() {
  const jobs = queue;
  queue = [];
  timer = null;
  const t0 = performance.now();
  try {
    const x = await jepa.image.load(
      jobs.map((j) => j.body),
      { size: [height, width] },
    ); // [B, 3, H, W]
    const tokens = await encoder.forward(x); // [B, N, D]
    const [, n, d] = tokens.shape;
    const all = tokens.contiguous().data();
    const ms = performance.now() - t0;
    jobs.forEach((job, b) => {
      const embedding = new Array(d).fill(0);
      for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) embedding[k] += all[(b * n + i) * d + k] / n;
      job.resolve({ status: 200, body: { shape: [n, d], embedding, batch: jobs.length, ms } });
    });
    x.dispose();
    tokens.dispose();
  } catch (e) {
    // A bad image fails the batch: run the jobs one by one so that only the bad one gets the error.
    if (jobs.length > 1) {
      for (const job of jobs) enqueue(job, true);
      return;
    }
    jobs[0].resolve({ status: e.code === 'JEPA_MEDIA_DECODE' ? 400 : 500, body: { error: e.message, code: e.code } });
  }
}

function enqueue(job, alone = false) {
  if (alone) {
    queue.push(job);
    return runBatch();
  }
  queue.push(job);
  if (queue.length >= maxBatch) {
    clearTimeout(timer);
    runBatch();
  } else if (!timer) {
    timer = setTimeout(runBatch, waitMs);
  }
}

const server = http.createServer((req, res) => {
  const reply = ({ status, body }) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/health')
    return reply({ status: 200, body: { ok: true, input: [3, height, width] } });
  if (req.method !== 'POST' || req.url !== '/embed')
    return reply({ status: 404, body: { error: 'POST /embed with image bytes' } });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (body.length === 0) return reply({ status: 400, body: { error: 'empty body: send the bytes of an image' } });
    new Promise((resolve) => enqueue({ body, resolve })).then(reply);
  });
});

server.listen(Number(args.port), args.host, () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));

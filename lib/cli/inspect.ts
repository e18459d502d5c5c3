/**
 * `jepa-native inspect FILE`: the tree of keys of a .pt (torch.save or TorchScript), safetensors
 * or .npy file, with each tensor's dtype, shape and bytes, without reading tensor data (the .pt
 * file is opened lazily with a private mapping).
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import type { Tensor } from '../tensor/tensor';
import { CliError, detectFormat, errorText, formatBytes, lib, shapeText, type Io, type TensorFormat } from './common';

/** One leaf of the tree, as `--json` prints it. */
export interface InspectEntry {
  /** Dotted key path (`model.layer1.weight`, `state.0.exp_avg`); '' for a top-level value. */
  key: string;
  /** 'tensor', 'parameter', 'buffer', or the Python type of another value ('str', 'int', 'torch.Size', ...). */
  type: string;
  dtype?: string;
  shape?: number[];
  nbytes?: number;
  /** The value of a non-tensor leaf (strings, numbers, sizes, ...), JSON-friendly. */
  value?: unknown;
}

/** What `inspect --json` prints. */
export interface InspectReport {
  file: string;
  format: TensorFormat | 'torchscript';
  fileBytes: number;
  tensors: number;
  tensorBytes: number;
  entries: InspectEntry[];
  /** safetensors `__metadata__`; TorchScript methods. */
  metadata?: Record<string, string>;
  methods?: string[];
}

interface Node {
  label: string;
  text: string;
  children: Node[];
}

function pyType(v: unknown): { type: string; value: unknown; text: string } {
  const L = lib();
  if (v === null || v === undefined) return { type: 'None', value: null, text: 'None' };
  if (typeof v === 'string')
    return { type: 'str', value: v, text: `str ${JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)}` };
  if (typeof v === 'boolean') return { type: 'bool', value: v, text: `bool ${v ? 'True' : 'False'}` };
  if (typeof v === 'number')
    return {
      type: Number.isInteger(v) ? 'int' : 'float',
      value: v,
      text: `${Number.isInteger(v) ? 'int' : 'float'} ${v}`,
    };
  if (typeof v === 'bigint') return { type: 'int', value: v.toString(), text: `int ${v}` };
  if (v instanceof L.Float) return { type: 'float', value: v.value, text: `float ${v.value}` };
  if (v instanceof L.Size) return { type: 'torch.Size', value: [...v], text: `torch.Size(${shapeText(v)})` };
  if (v instanceof L.TorchDevice) return { type: 'torch.device', value: String(v), text: `torch.device('${v}')` };
  if (v instanceof L.TorchDtype) return { type: 'torch.dtype', value: String(v), text: String(v) };
  if (v instanceof Uint8Array) return { type: 'bytes', value: `${v.length} bytes`, text: `bytes (${v.length})` };
  return { type: typeof v, value: String(v), text: String(v) };
}

function containerName(v: unknown): string | null {
  const L = lib();
  if (v instanceof L.OrderedDict) return 'OrderedDict';
  if (v instanceof Map) return 'dict';
  if (v instanceof L.Tuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) return 'dict';
  return null;
}

function children(v: unknown): [string, unknown][] {
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [String(k), x]);
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  return Object.entries(v as Record<string, unknown>);
}

/** Walks a loaded value: the flat entries and the display tree. */
function walk(
  value: unknown,
  key: string,
  label: string,
  entries: InspectEntry[],
  isParameter: (t: Tensor) => boolean,
): Node {
  const L = lib();
  if (value instanceof L.Tensor) {
    const type = isParameter(value) ? 'parameter' : 'tensor';
    entries.push({ key, type, dtype: value.dtype, shape: value.shape, nbytes: value.nbytes });
    return {
      label,
      text: `${value.dtype}  ${shapeText(value.shape)}  ${formatBytes(value.nbytes)}${type === 'parameter' ? '  (Parameter)' : ''}`,
      children: [],
    };
  }
  const container = value instanceof L.Size ? null : containerName(value);
  if (container) {
    const items = children(value);
    return {
      label,
      text: `${container} (${items.length} ${items.length === 1 ? 'item' : 'items'})`,
      children: items.map(([k, x]) => walk(x, key === '' ? k : `${key}.${k}`, k, entries, isParameter)),
    };
  }
  const t = pyType(value);
  entries.push({ key, type: t.type, value: t.value });
  return { label, text: t.text, children: [] };
}

function flatNode(label: string, entries: InspectEntry[], kind: string): Node {
  return {
    label,
    text: `${entries.length} ${kind}`,
    children: entries.map((e) => ({
      label: e.key,
      text: `${e.dtype}  ${shapeText(e.shape ?? [])}  ${formatBytes(e.nbytes ?? 0)}${e.type === 'buffer' ? '  (buffer)' : ''}`,
      children: [],
    })),
  };
}

function render(root: Node): string {
  const lines: string[] = [];
  const widthOf = (nodes: Node[]) => Math.max(0, ...nodes.map((n) => n.label.length));
  const visit = (nodes: Node[], prefix: string) => {
    const w = widthOf(nodes);
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${n.label.padEnd(w)}  ${n.text}`);
      visit(n.children, prefix + (last ? '    ' : '│   '));
    });
  };
  lines.push(`${root.label}  ${root.text}`);
  visit(root.children, '');
  return lines.join('\n') + '\n';
}

async function inspectPt(
  file: string,
  entries: InspectEntry[],
): Promise<{ node: Node; format: 'pt' | 'torchscript'; methods?: string[] }> {
  const L = lib();
  let archive;
  try {
    archive = await L.open(file, { mmap: true });
  } catch (e) {
    if ((e as { code?: string }).code === L.ErrorCode.PT_TORCHSCRIPT) return inspectTorchScript(file, entries);
    throw e;
  }
  try {
    // The mapping makes reading everything cheap: tensors alias it, their pages are never touched.
    const value = await archive.get([]);
    const node = walk(value, '', 'torch.save', entries, (t) => L.isParameter(t));
    return { node, format: 'pt' };
  } finally {
    archive.close();
  }
}

async function inspectTorchScript(
  file: string,
  entries: InspectEntry[],
): Promise<{ node: Node; format: 'torchscript'; methods: string[] }> {
  const L = lib();
  const m = await L.loadModule(file);
  try {
    for (const [k, t] of m.namedParameters())
      entries.push({ key: k, type: 'parameter', dtype: t.dtype, shape: t.shape, nbytes: t.nbytes });
    for (const [k, t] of m.namedBuffers())
      entries.push({ key: k, type: 'buffer', dtype: t.dtype, shape: t.shape, nbytes: t.nbytes });
    const methods = m.methods();
    const node = flatNode('TorchScript module', entries, `parameters and buffers; methods: ${methods.join(', ')}`);
    return { node, format: 'torchscript', methods };
  } finally {
    m.dispose();
  }
}

/** Inspects a file; returns the report (and prints it). */
export async function inspect(file: string, opts: { json?: boolean }, io: Io): Promise<InspectReport> {
  const L = lib();
  if (!fs.existsSync(file)) throw new CliError(`${file}: no such file`);
  if (fs.statSync(file).isDirectory())
    throw new CliError(`${file}: is a folder (expected a .pt, safetensors or .npy file)`);
  const format = detectFormat(file);
  const entries: InspectEntry[] = [];
  let node: Node;
  let reportFormat: InspectReport['format'] = format;
  let metadata: Record<string, string> | undefined;
  let methods: string[] | undefined;
  try {
    if (format === 'pt') {
      const r = await inspectPt(file, entries);
      node = r.node;
      reportFormat = r.format;
      methods = r.methods;
    } else if (format === 'safetensors') {
      const h = L.readSafetensorsHeader(file);
      for (const e of h.entries) {
        const n = e.offsets[1] - e.offsets[0];
        entries.push({ key: e.name, type: 'tensor', dtype: e.dtype, shape: e.shape, nbytes: n });
      }
      metadata = h.metadata ?? undefined;
      node = flatNode('safetensors', entries, `tensors${metadata ? `; metadata ${JSON.stringify(metadata)}` : ''}`);
    } else {
      const t = await L.loadNpy(file, { mmap: true });
      entries.push({ key: '', type: 'tensor', dtype: t.dtype, shape: t.shape, nbytes: t.nbytes });
      node = { label: '.npy', text: `${t.dtype}  ${shapeText(t.shape)}  ${formatBytes(t.nbytes)}`, children: [] };
    }
  } catch (e) {
    throw new CliError(`${file}: ${errorText(e).replace(`${file}: `, '')}`);
  }
  const tensors = entries.filter((e) => e.nbytes !== undefined);
  const report: InspectReport = {
    file,
    format: reportFormat,
    fileBytes: fs.statSync(file).size,
    tensors: tensors.length,
    tensorBytes: tensors.reduce((a, e) => a + (e.nbytes ?? 0), 0),
    entries,
    ...(metadata ? { metadata } : {}),
    ...(methods ? { methods } : {}),
  };
  if (opts.json) {
    io.out(JSON.stringify(report, null, 2) + '\n');
  } else {
    node.label = `${file} (${node.label}, ${formatBytes(report.fileBytes)})`;
    io.out(render(node));
    io.out(
      `${report.tensors} ${report.tensors === 1 ? 'tensor' : 'tensors'}, ${report.tensorBytes.toLocaleString('en-US')} bytes of tensor data\n`,
    );
  }
  return report;
}

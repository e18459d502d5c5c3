/**
 * Datasets: an indexable collection of samples (`length`, `get(i)`), as PyTorch's map-style
 * `Dataset` (`__len__`, `__getitem__`). Three come with the package: feature files (seed 003's
 * rule for which tensor a file holds), image folders (torchvision's `ImageFolder` layout) and a
 * CSV of `image_name,comment` beside an image folder (seed 004's `VisionTextDataset`).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { loadNpy, loadSafetensors } from '../io/formats';
import { load as loadImage } from '../media/image';
import { load as loadPt } from '../io/pt';
import { loadNpz } from '../io/npz';
import { resolveImageOptions, type ImageOptions } from '../media/decode';
import { Tensor } from '../tensor/tensor';
import { checkOptions, isPlainObject, show } from '../core/validate';
import { disposeAll } from './collate';

/**
 * A collection of samples with a length, read by index: what a {@link DataLoader} iterates.
 * `get` may return the sample or a Promise of it; the loader asks for every index of a batch
 * in one turn, so that file reads are batched on the worker threads.
 */
export interface Dataset<T = unknown> {
  /** The number of samples. */
  readonly length: number;
  /** Sample `index` (0 <= index < length). */
  get(index: number): T | Promise<T>;
}

function dataInvalid(message: string): JepaError {
  return new JepaError(ErrorCode.DATA_INVALID, message);
}

function checkDir(value: unknown, name: string): string {
  const p = value instanceof URL ? fileURLToPath(value) : value;
  if (typeof p !== 'string' || p.length === 0)
    throw invalidArgument(`expected \`${name}\` to be a folder path, got ${show(value)}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new JepaError(
      err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
      `${p}: cannot read the folder: ${err.message}`,
    );
  }
  if (!st.isDirectory()) throw invalidArgument(`expected \`${name}\` to be a folder, got the file ${p}`);
  return path.resolve(p);
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The files under `dir` whose names end (case-insensitively) in one of `extensions`; `recursive`
 * descends into folders (following links, as `os.walk(followlinks=True)`). Order `'path'`: by
 * code unit of the whole path (the order of `jepa.distributed.shardFiles`); `'walk'`: folder by
 * folder in sorted order, each folder's files sorted, as `sorted(os.walk(d))` then
 * `sorted(fnames)` (torchvision's `make_dataset`).
 */
function listFiles(
  dir: string,
  extensions: readonly string[],
  recursive: boolean,
  order: 'path' | 'walk' = 'path',
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string): void => {
    const real = fs.realpathSync(d);
    if (seen.has(real)) return; // a link loop
    seen.add(real);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = fs.statSync(full, { throwIfNoEntry: false });
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir && recursive) walk(full);
      else if (isFile && extensions.some((x) => e.name.toLowerCase().endsWith(x))) out.push(full);
    }
  };
  walk(dir);
  if (order === 'path') return out.sort(byCodeUnit);
  return out.sort(
    (a, b) => byCodeUnit(path.dirname(a), path.dirname(b)) || byCodeUnit(path.basename(a), path.basename(b)),
  );
}

function checkExtensions(value: unknown, name: string, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'string' && x.length > 0)) {
    throw invalidArgument(
      `expected \`${name}\` to be a non-empty array of file extensions such as '.pt', got ${show(value)}`,
    );
  }
  return value.map((x: string) => (x.startsWith('.') ? x : `.${x}`).toLowerCase());
}

function checkBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

function checkIndex(index: unknown, length: number): number {
  if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= length) {
    throw invalidArgument(`expected \`index\` to be an integer in [0, ${length}), got ${show(index)}`);
  }
  return index as number;
}

// ---------------------------------------------------------------------------------------------
// Feature files

/** The file types a {@link FeatureDataset} reads. */
export const FEATURE_EXTENSIONS: readonly string[] = Object.freeze(['.pt', '.pth', '.npy', '.npz', '.safetensors']);

/** Options of {@link FeatureDataset}. */
export interface FeatureDatasetOptions {
  /**
   * The key of the tensor in each file (a dict-like `.pt`, `.npz` or safetensors file). Default:
   * seed 003's rule, `'feature'`, then `'features'`, then the first key.
   */
  key?: string;
  /** Which files of a folder to read. Default {@link FEATURE_EXTENSIONS}. */
  extensions?: string[];
  /** Read a folder's subfolders too (seed 003 does). Default true. */
  recursive?: boolean;
  /** Map the files instead of reading them (tensors alias the mappings). Default false. */
  mmap?: boolean;
}

/** A sample of a {@link FeatureDataset}. */
export interface FeatureSample {
  /** The file's feature tensor. */
  feature: Tensor;
  /** The file it came from. */
  path: string;
}

/**
 * The tensor of a loaded feature file under seed 003's rule: the value itself when it is a
 * tensor; for a dict (a plain object, an OrderedDict / Map, a `.npz` or safetensors file) the
 * value under `key` when given, else under `'feature'`, else `'features'`, else the first key.
 * The other tensors of the file are disposed.
 */
export function pickFeature(value: unknown, file: string, key?: string): Tensor {
  if (value instanceof Tensor) {
    if (key !== undefined) throw dataInvalid(`${file}: the file holds a bare tensor, not a dict with the key '${key}'`);
    return value;
  }
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (isPlainObject(value)) entries = Object.entries(value);
  else throw dataInvalid(`${file}: expected a tensor or a dict of tensors, got ${show(value)}`);
  const has = (k: string) => entries.find(([name]) => name === k);
  const found = key !== undefined ? has(key) : (has('feature') ?? has('features') ?? entries[0]);
  const chosen = found?.[1];
  for (const [, v] of entries) if (v !== chosen) disposeAll(v);
  if (!(chosen instanceof Tensor)) {
    const which = key !== undefined ? `the key '${key}'` : "'feature', 'features' or the first key";
    throw dataInvalid(
      `${file}: no tensor under ${which} (its keys: ${entries.map(([k]) => String(k)).join(', ') || 'none'}; got ${show(chosen)})`,
    );
  }
  return chosen;
}

/**
 * Feature files (`.pt`, `.pth`, `.npy`, `.npz`, safetensors): a folder, read recursively and
 * sorted by path, or a list of files in the order given. Each sample is `{feature, path}`, the
 * tensor chosen by {@link pickFeature}; files are read on worker threads (`.pt` loads of one
 * batch are read together, see `jepa.load`).
 *
 * ```js
 * const ds = new jepa.data.FeatureDataset('features/');          // seed 003's feature_dir
 * const { feature } = await ds.get(0);                             // [T, N, C]
 * ```
 */
export class FeatureDataset implements Dataset<FeatureSample> {
  /** The files, in sample order. */
  readonly files: readonly string[];
  readonly #key: string | undefined;
  readonly #mmap: boolean;

  constructor(source: string | URL | readonly string[], options?: FeatureDatasetOptions) {
    const o = checkOptions(options, 'options', ['key', 'extensions', 'recursive', 'mmap']);
    if (o.key !== undefined && (typeof o.key !== 'string' || o.key.length === 0)) {
      throw invalidArgument(`expected \`options.key\` to be a non-empty string, got ${show(o.key)}`);
    }
    this.#key = o.key as string | undefined;
    this.#mmap = checkBool(o.mmap, 'options.mmap', false);
    const extensions = checkExtensions(o.extensions, 'options.extensions', FEATURE_EXTENSIONS);
    if (Array.isArray(source)) {
      if (!source.every((f) => typeof f === 'string' && f.length > 0)) {
        throw invalidArgument(`expected \`source\` to be a folder or an array of file paths, got ${show(source)}`);
      }
      for (const f of source) {
        const ext = path.extname(f).toLowerCase();
        if (!FEATURE_EXTENSIONS.includes(ext)) {
          throw invalidArgument(`${f}: a feature file must be one of ${FEATURE_EXTENSIONS.join(', ')}`);
        }
      }
      this.files = Object.freeze(source.map((f) => path.resolve(f)));
    } else {
      const dir = checkDir(source, 'source');
      this.files = Object.freeze(listFiles(dir, extensions, checkBool(o.recursive, 'options.recursive', true)));
      if (this.files.length === 0)
        throw dataInvalid(`${dir}: no feature files (${extensions.join(', ')}) in the folder`);
    }
  }

  get length(): number {
    return this.files.length;
  }

  async get(index: number): Promise<FeatureSample> {
    const file = this.files[checkIndex(index, this.files.length)];
    const ext = path.extname(file).toLowerCase();
    const opts = { mmap: this.#mmap };
    let value: unknown;
    if (ext === '.npy') value = await loadNpy(file, opts);
    else if (ext === '.npz') value = await loadNpz(file, opts);
    else if (ext === '.safetensors') value = await loadSafetensors(file, opts);
    else value = await loadPt(file, opts);
    return { feature: pickFeature(value, file, this.#key), path: file };
  }
}

// ---------------------------------------------------------------------------------------------
// Images

/** The file types torchvision's `ImageFolder` reads (`IMG_EXTENSIONS`). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([
  '.jpg',
  '.jpeg',
  '.png',
  '.ppm',
  '.bmp',
  '.pgm',
  '.tif',
  '.tiff',
  '.webp',
]);

/** Options of {@link ImageFolderDataset}. */
export interface ImageFolderOptions {
  /** How images are decoded, resized and normalised: the options of `jepa.image.load`. */
  image?: ImageOptions;
  /** Which files are images. Default {@link IMAGE_EXTENSIONS}. */
  extensions?: string[];
  /**
   * `true` (default): torchvision's layout, `root/<class>/**\/<image>`, each class folder a label
   * (its index in the sorted class names). `false`: every image under `root`, without labels.
   */
  classes?: boolean;
}

/** A sample of an {@link ImageFolderDataset}. */
export interface ImageSample {
  /** [3, H, W] float32, normalised. */
  image: Tensor;
  /** The class index (with `classes: true`). */
  label?: number;
  path: string;
}

/**
 * The images of a folder, as torchvision's `datasets.ImageFolder` finds them: the class folders
 * of `root` sorted by name, and in each the images found by walking it (sorted), labelled with
 * the class index. Images are decoded by `jepa.image.load` (libvips threads) with
 * `options.image`.
 */
export class ImageFolderDataset implements Dataset<ImageSample> {
  /** The images, in sample order. */
  readonly files: readonly string[];
  /** Each image's class index (empty with `classes: false`). */
  readonly labels: readonly number[];
  /** The class names, sorted (empty with `classes: false`). */
  readonly classes: readonly string[];
  readonly #image: ImageOptions | undefined;

  constructor(root: string | URL, options?: ImageFolderOptions) {
    const o = checkOptions(options, 'options', ['image', 'extensions', 'classes']);
    resolveImageOptions(o.image, 'options.image'); // checked now, not at the first sample
    this.#image = o.image as ImageOptions | undefined;
    const extensions = checkExtensions(o.extensions, 'options.extensions', IMAGE_EXTENSIONS);
    const dir = checkDir(root, 'root');
    const files: string[] = [];
    const labels: number[] = [];
    let classes: string[] = [];
    if (checkBool(o.classes, 'options.classes', true)) {
      classes = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter(
          (e) =>
            e.isDirectory() ||
            (e.isSymbolicLink() && fs.statSync(path.join(dir, e.name), { throwIfNoEntry: false })?.isDirectory()),
        )
        .map((e) => e.name)
        .sort(byCodeUnit);
      if (classes.length === 0)
        throw dataInvalid(`${dir}: no class folders (use classes: false for a folder of images)`);
      classes.forEach((c, i) => {
        const found = listFiles(path.join(dir, c), extensions, true, 'walk');
        if (found.length === 0)
          throw dataInvalid(`${dir}: class folder '${c}' holds no images (${extensions.join(', ')})`);
        files.push(...found);
        labels.push(...found.map(() => i));
      });
    } else {
      files.push(...listFiles(dir, extensions, true, 'walk'));
      if (files.length === 0) throw dataInvalid(`${dir}: no images (${extensions.join(', ')}) in the folder`);
    }
    this.files = Object.freeze(files);
    this.labels = Object.freeze(labels);
    this.classes = Object.freeze(classes);
  }

  get length(): number {
    return this.files.length;
  }

  async get(index: number): Promise<ImageSample> {
    const i = checkIndex(index, this.files.length);
    const image = await loadImage(this.files[i], this.#image);
    return this.classes.length > 0
      ? { image, label: this.labels[i], path: this.files[i] }
      : { image, path: this.files[i] };
  }
}

// ---------------------------------------------------------------------------------------------
// Captions

/** Options of {@link CaptionDataset}. */
export interface CaptionDatasetOptions {
  /** How images are decoded: the options of `jepa.image.load`. */
  image?: ImageOptions;
  /** The CSV columns of the image file name and of the caption. Default seed 004's `image_name`, `comment`. */
  columns?: { image?: string; caption?: string };
}

/** A sample of a {@link CaptionDataset}. */
export interface CaptionSample {
  /** [3, H, W] float32, normalised. */
  image: Tensor;
  caption: string;
  path: string;
}

/**
 * Seed 004's data: a CSV with a header row and the columns `image_name,comment`, the images in
 * a folder (`path.join(imageDir, image_name)`). The CSV is parsed by csv-parse (quoted fields,
 * commas and newlines inside quotes, a UTF-8 BOM); an empty caption is `''`. A missing image
 * fails at its `get` (`JEPA_FILE_NOT_FOUND`), as in the seed.
 */
export class CaptionDataset implements Dataset<CaptionSample> {
  /** The rows: image path and caption. */
  readonly rows: readonly { readonly path: string; readonly caption: string }[];
  readonly #image: ImageOptions | undefined;

  constructor(csvFile: string | URL, imageDir: string | URL, options?: CaptionDatasetOptions) {
    const o = checkOptions(options, 'options', ['image', 'columns']);
    resolveImageOptions(o.image, 'options.image');
    this.#image = o.image as ImageOptions | undefined;
    const cols = checkOptions(o.columns, 'options.columns', ['image', 'caption']);
    const imageCol = cols.image ?? 'image_name';
    const captionCol = cols.caption ?? 'comment';
    for (const [k, v] of [
      ['image', imageCol],
      ['caption', captionCol],
    ] as const) {
      if (typeof v !== 'string' || v.length === 0)
        throw invalidArgument(`expected \`options.columns.${k}\` to be a column name, got ${show(v)}`);
    }
    const csv = csvFile instanceof URL ? fileURLToPath(csvFile) : csvFile;
    if (typeof csv !== 'string' || csv.length === 0)
      throw invalidArgument(`expected \`csvFile\` to be a path, got ${show(csvFile)}`);
    const dir = checkDir(imageDir, 'imageDir');
    let text: string;
    try {
      text = fs.readFileSync(csv, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new JepaError(
        err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
        `${csv}: cannot read the CSV: ${err.message}`,
      );
    }
    let records: Record<string, string>[];
    try {
      records = parseCsv(text, { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];
    } catch (e) {
      throw dataInvalid(`${csv}: not a readable CSV: ${(e as Error).message}`);
    }
    if (records.length === 0) throw dataInvalid(`${csv}: the CSV has no rows`);
    const header = Object.keys(records[0]);
    for (const c of [imageCol, captionCol]) {
      if (!header.includes(c as string))
        throw dataInvalid(`${csv}: no column '${c}' (its columns: ${header.join(', ')})`);
    }
    this.rows = Object.freeze(
      records.map((r, i) => {
        const name = r[imageCol as string];
        if (!name) throw dataInvalid(`${csv}: row ${i + 2} has no ${imageCol as string}`);
        return Object.freeze({ path: path.join(dir, name), caption: r[captionCol as string] ?? '' });
      }),
    );
  }

  get length(): number {
    return this.rows.length;
  }

  async get(index: number): Promise<CaptionSample> {
    const row = this.rows[checkIndex(index, this.rows.length)];
    return { image: await loadImage(row.path, this.#image), caption: row.caption, path: row.path };
  }
}

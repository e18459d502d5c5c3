/**
 * Text tokenisation for the exported text encoders (`jepa-native export minilm` copies the
 * model's Hugging Face `tokenizer.json` beside it). The tokenizer itself is
 * `@huggingface/tokenizers` (tokenizers.js, a pure-JS implementation of the Rust `tokenizers`
 * pipelines); this module adds what transformers' `tokenizer(texts, padding=True,
 * truncation=True, max_length=N, return_tensors='pt')` adds around it: truncation to the model's
 * length (special tokens kept), padding to the longest text of the batch, int64 tensors.
 *
 * ```js
 * const tok = jepa.TextTokenizer.fromFile('models/minilm/tokenizer.json', { maxLength: 256 });
 * const { inputIds, attentionMask } = tok.tokenize(['a dog', 'two cats playing']);   // [2, L] int64 each
 * ```
 * @module
 */
import * as fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { checkOptions, show } from '../core/validate';
import { tensor, type Tensor } from '../tensor/tensor';

/** Options of {@link TextTokenizer}. */
export interface TextTokenizerOptions {
  /**
   * The longest token sequence (special tokens included); longer texts are cut, keeping their
   * first tokens and the special tokens (transformers' `truncation=True`). Default: no limit.
   */
  maxLength?: number | null;
  /** The padding token (its id fills the padding). Default: the `padding.pad_token` of the tokenizer.json, else `[PAD]`, else id 0. */
  padToken?: string;
}

/** A tokenised batch: int64 `[B, L]` ids and attention mask (1 = token, 0 = padding). */
export interface TokenizedBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  /** The number of real tokens of each text (after truncation). */
  lengths: number[];
}

interface TokenizerJson {
  padding?: { pad_token?: unknown; pad_id?: unknown } | null;
  model?: unknown;
}

/**
 * A Hugging Face fast tokenizer (a `tokenizer.json`) with transformers' batch truncation and
 * padding. Token ids equal those of `transformers.AutoTokenizer` for the same file (checked in
 * test/vl.test.mjs for a BERT WordPiece tokenizer: lowercasing, accents, punctuation, CJK,
 * unknown words, truncation).
 */
export class TextTokenizer {
  /** The longest sequence (special tokens included), or null for none. */
  readonly maxLength: number | null;
  /** The id written into padding positions. */
  readonly padTokenId: number;
  readonly #tokenizer: Tokenizer;
  /** Special tokens the post-processor puts before and after a text ([CLS] and [SEP] for BERT). */
  readonly #prefix: number;
  readonly #suffix: number;

  private constructor(json: TokenizerJson, options: TextTokenizerOptions | undefined, where: string) {
    const o = checkOptions(options, 'options', ['maxLength', 'padToken']);
    const max = o.maxLength as unknown;
    if (max !== undefined && max !== null && !(Number.isSafeInteger(max) && (max as number) >= 1)) {
      throw invalidArgument(`expected \`options.maxLength\` to be a positive integer or null, got ${show(max)}`);
    }
    if (o.padToken !== undefined && typeof o.padToken !== 'string') {
      throw invalidArgument(`expected \`options.padToken\` to be a string, got ${show(o.padToken)}`);
    }
    try {
      this.#tokenizer = new Tokenizer(json, {});
    } catch (e) {
      throw new JepaError(
        ErrorCode.DATA_INVALID,
        `${where}: not a tokenizer that @huggingface/tokenizers can build: ${(e as Error).message}`,
      );
    }
    const padToken =
      (o.padToken as string | undefined) ??
      (typeof json.padding?.pad_token === 'string' ? json.padding.pad_token : undefined) ??
      '[PAD]';
    const padId = this.#tokenizer.token_to_id(padToken);
    if (padId === undefined && o.padToken !== undefined) {
      throw invalidArgument(`the padding token ${show(padToken)} is not in the vocabulary of ${where}`);
    }
    this.padTokenId = padId ?? (typeof json.padding?.pad_id === 'number' ? json.padding.pad_id : 0);
    // How many special tokens the post-processor adds around a single text: compare a probe
    // encoded with and without them (BERT's template gives 1 + 1).
    const probe = 'a';
    const bare = this.#tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const full = this.#tokenizer.encode(probe, { add_special_tokens: true }).ids;
    let prefix = 0;
    while (prefix < full.length && full.slice(prefix, prefix + bare.length).join(',') !== bare.join(',')) prefix++;
    if (prefix + bare.length > full.length) {
      throw new JepaError(
        ErrorCode.DATA_INVALID,
        `${where}: its post-processor does not keep the text's tokens in one run; cannot truncate`,
      );
    }
    this.#prefix = prefix;
    this.#suffix = full.length - prefix - bare.length;
    this.maxLength = (max as number | null | undefined) ?? null;
    if (this.maxLength !== null && this.maxLength < this.#prefix + this.#suffix + 1) {
      throw invalidArgument(
        `expected \`options.maxLength\` to leave room for a token besides the ${this.#prefix + this.#suffix} special ones, got ${this.maxLength}`,
      );
    }
  }

  /** A tokenizer from the text of a tokenizer.json. */
  static fromJSON(json: string | object, options?: TextTokenizerOptions, where = 'tokenizer.json'): TextTokenizer {
    let value: unknown = json;
    if (typeof json === 'string') {
      try {
        value = JSON.parse(json);
      } catch (e) {
        throw new JepaError(ErrorCode.DATA_INVALID, `${where}: not valid JSON: ${(e as Error).message}`);
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !('model' in value)) {
      throw new JepaError(
        ErrorCode.DATA_INVALID,
        `${where}: expected a Hugging Face tokenizer.json (an object with a \`model\`), got ${show(value)}`,
      );
    }
    return new TextTokenizer(value as TokenizerJson, options, where);
  }

  /** Reads a tokenizer.json (e.g. `TextEncoder.tokenizerFile`). */
  static fromFile(file: string, options?: TextTokenizerOptions): TextTokenizer {
    if (typeof file !== 'string' || file.length === 0)
      throw invalidArgument(`expected \`file\` to be a path, got ${show(file)}`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new JepaError(
        err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
        `${file}: cannot read the tokenizer: ${err.message}`,
      );
    }
    return TextTokenizer.fromJSON(text, options, file);
  }

  /** The token ids of one text, with the special tokens and truncated to {@link maxLength}. */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw invalidArgument(`expected a text (string), got ${show(text)}`);
    const ids = this.#tokenizer.encode(text, { add_special_tokens: true }).ids;
    if (this.maxLength === null || ids.length <= this.maxLength) return ids;
    const keep = this.maxLength - this.#prefix - this.#suffix;
    return [...ids.slice(0, this.#prefix + keep), ...ids.slice(ids.length - this.#suffix)];
  }

  /** The token strings of one text (with the special tokens, before truncation). */
  tokens(text: string): string[] {
    if (typeof text !== 'string') throw invalidArgument(`expected a text (string), got ${show(text)}`);
    return this.#tokenizer.encode(text, { add_special_tokens: true }).tokens;
  }

  /**
   * Tokenises a batch: each text as {@link encode}, padded with {@link padTokenId} on the right
   * to the longest of the batch; `attentionMask` is 1 on tokens, 0 on padding.
   */
  tokenize(texts: string | readonly string[]): TokenizedBatch {
    const list = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string')) {
      throw invalidArgument(`expected \`texts\` to be a string or a non-empty array of strings, got ${show(texts)}`);
    }
    const encoded = list.map((t) => this.encode(t));
    const width = Math.max(...encoded.map((ids) => ids.length));
    const ids = new BigInt64Array(encoded.length * width).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(encoded.length * width);
    encoded.forEach((row, i) => {
      row.forEach((id, j) => {
        ids[i * width + j] = BigInt(id);
        mask[i * width + j] = 1n;
      });
    });
    return {
      inputIds: tensor(ids, [encoded.length, width]),
      attentionMask: tensor(mask, [encoded.length, width]),
      lengths: encoded.map((r) => r.length),
    };
  }
}

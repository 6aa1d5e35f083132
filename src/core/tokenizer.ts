// Tokenizer wrapper over @huggingface/tokenizers (pure JS; loads any Hugging Face tokenizer.json).
// encode() never adds special tokens (the engine adds bos itself, per the pack's `prompt.addBos`);
// decode() skips special tokens and does not "clean up" tokenization spaces, so text round-trips.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { CmtError } from './types';

export interface SpecialTokenIds {
  pad: number;
  bos: number;
  eos: number;
}

export class CmtTokenizer {
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  /** ids of every special/added-special token (pad, bos, eos and the tokenizer's own specials). */
  readonly specialIds: ReadonlySet<number>;

  private vocabSizeCache = -1;
  /** Text of every special token ("<|im_start|>", "[CLS]", ...), longest first. */
  private readonly specialTexts: string[];

  constructor(
    private readonly hf: HfTokenizer,
    special?: Partial<SpecialTokenIds>,
    /** Clean up tokenization spaces on decode (only when tokenizer_config.json asks for it). */
    private readonly cleanUpSpaces = false,
  ) {
    const added = hf.get_added_tokens_decoder();
    const specials = new Set<number>();
    const texts: string[] = [];
    for (const [id, tok] of added) {
      const t = tok as unknown as { special?: boolean; content?: string };
      if (!t.special) continue;
      specials.add(id);
      if (t.content && t.content.length > 1) texts.push(t.content);
    }
    this.specialTexts = texts.sort((a, b) => b.length - a.length);
    const guess = (names: string[]): number | undefined => {
      for (const n of names) {
        const id = hf.token_to_id(n);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    this.padId = special?.pad ?? guess(['<|pad|>', '[PAD]', '<pad>', '<|endoftext|>']) ?? 0;
    this.bosId = special?.bos ?? guess(['<|bos|>', '<s>', '[CLS]', '<|im_start|>', '<|endoftext|>']) ?? 0;
    this.eosId = special?.eos ?? guess(['<|eos|>', '</s>', '[SEP]', '<|im_end|>', '<|endoftext|>']) ?? 0;
    if (special) for (const id of [this.padId, this.bosId, this.eosId]) specials.add(id);
    this.specialIds = specials;
  }

  /**
   * Loads a tokenizer.json (and a tokenizer_config.json next to it, if present).
   * Throws CmtError PACK_MISSING / PACK_CORRUPT naming the file.
   */
  static async fromFile(file: string, special?: Partial<SpecialTokenIds>): Promise<CmtTokenizer> {
    let raw: string;
    try {
      raw = await fs.promises.readFile(file, 'utf8');
    } catch (e) {
      throw new CmtError('PACK_MISSING', `tokenizer file missing or unreadable: ${file} (${(e as Error).message})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new CmtError('PACK_CORRUPT', `tokenizer file is not valid JSON: ${file} (${(e as Error).message})`);
    }
    let config: Record<string, unknown> = {};
    const cfgPath = path.join(path.dirname(file), 'tokenizer_config.json');
    try {
      config = JSON.parse(await fs.promises.readFile(cfgPath, 'utf8')) as Record<string, unknown>;
    } catch {
      /* optional */
    }
    return CmtTokenizer.fromJSON(json as object, config, special, file);
  }

  static fromJSON(
    tokenizerJson: object,
    config: Record<string, unknown> = {},
    special?: Partial<SpecialTokenIds>,
    nameForErrors = 'tokenizer.json',
  ): CmtTokenizer {
    try {
      // Exact round-trips: no space clean-up (" ." stays " .") unless tokenizer_config.json asks for it
      // (WordPiece tokenizers such as MiniLM's need it to turn "a , b" back into "a, b").
      const cleanUp = config.clean_up_tokenization_spaces === true;
      const hf = new HfTokenizer(tokenizerJson, { ...config, clean_up_tokenization_spaces: cleanUp });
      return new CmtTokenizer(hf, special, cleanUp);
    } catch (e) {
      throw new CmtError('PACK_CORRUPT', `cannot load tokenizer ${nameForErrors}: ${(e as Error).message}`);
    }
  }

  /** Token ids of `text`, no special tokens added. */
  encode(text: string): number[] {
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * User content (a question, a file's text) made safe to put inside a prompt: a special token
   * written in it ("<|im_end|>" in a file or a question) would otherwise be encoded AS that token and
   * could end the user turn or open a fake one. Each such literal gets a WORD JOINER (U+2060) after its
   * first character, so it is encoded as plain text. Text without special literals is returned as is.
   */
  plain(text: string): string {
    let out = text;
    for (const t of this.specialTexts) if (out.includes(t)) out = out.split(t).join(t[0] + '\u2060' + t.slice(1));
    return out;
  }

  /**
   * A question as asked: a real question never writes the model's control tokens, so one that does
   * ("…?<|im_end|><|im_start|>system …") is cut before the first of them (the rest would be an
   * instruction dressed as chat). The whole text, made plain, when nothing is left before it.
   */
  questionPart(text: string): { text: string; cut: boolean } {
    let at = -1;
    for (const t of this.specialTexts) {
      const i = text.indexOf(t);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at < 0) return { text, cut: false };
    const head = text.slice(0, at).trim();
    return head ? { text: head, cut: true } : { text: this.plain(text), cut: false };
  }

  /** Text of `ids`; special tokens are skipped unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.hf.decode(ids as number[], {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  countTokens(text: string): number {
    return this.encode(text).length;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  get vocabSize(): number {
    if (this.vocabSizeCache < 0) this.vocabSizeCache = this.hf.get_vocab(true).size;
    return this.vocabSizeCache;
  }
}

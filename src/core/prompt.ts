// The decoder's prompts, as token ids: a question in the pack's question template, or with raw text
// (the best chunks) in its context template. decode.ts's Decoder builds its prompts with these.
import { fillTemplate, type Pack } from './pack';

/** Decoder prompt for a question: [bos] + tokens of prompt.question. */
export function questionPrompt(pack: Pack, question: string): number[] {
  const m = pack.manifest;
  const tok = pack.tokenizer;
  const ids = tok.encode(fillTemplate(m.prompt.question, { question: tok.plain(question) }));
  return m.prompt.addBos ? [m.specialTokens.bos, ...ids] : ids;
}

/**
 * Decoder prompt with raw text in it: the pack's `prompt.context` template with `texts` (best
 * first, cut to fit `budget` tokens in all) in place of {context}; packs without that template get
 * [bos] + texts + the question prompt.
 */
export function contextPrompt(pack: Pack, rawQuestion: string, texts: readonly string[], budget: number): number[] {
  const m = pack.manifest;
  const tok = pack.tokenizer;
  const question = tok.plain(rawQuestion);
  const template = m.prompt.context ?? '{context}' + m.prompt.question;
  const at = template.indexOf('{context}');
  const head = tok.encode(fillTemplate(template.slice(0, at), { question }));
  const tail = tok.encode(fillTemplate(template.slice(at + '{context}'.length), { question }));
  const bos = m.prompt.addBos ? [m.specialTokens.bos] : [];
  const room = Math.max(0, budget - bos.length - head.length - tail.length);
  // Several texts are labelled: a 135M model given four unlabelled chunks answered from the wrong one
  // far more often (samples/questions.json, top-4 RAG: 1 of 8 answers right unlabelled, 4 of 8 labelled).
  const ctx: number[] = [];
  for (const [i, text] of texts.entries()) {
    if (ctx.length >= room) break;
    const block = texts.length > 1 ? `[Document ${i + 1}]\n${tok.plain(text).trim()}\n\n` : tok.plain(text) + '\n';
    ctx.push(...tok.encode(block).slice(0, room - ctx.length));
  }
  return [...bos, ...head, ...ctx, ...tail];
}

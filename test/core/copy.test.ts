// Copy decoding (src/core/copy.ts) with a toy tokenizer, and through the decoder on the tiny pack.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CopyConstraint } from '../../src/core/copy';

// A toy tokenizer over `vocab`: 0 = stop, then pieces; encode splits greedily on the longest known piece.
function toyCodec(vocab: readonly string[]) {
  const decode = (ids: number[]) => ids.map((i) => (i === 0 ? '' : vocab[i])).join('');
  const encode = (text: string) => {
    const ids: number[] = [];
    let at = 0;
    while (at < text.length) {
      let best = -1;
      for (let i = 1; i < vocab.length; i++) if (text.startsWith(vocab[i], at) && (best < 0 || vocab[i].length > vocab[best].length)) best = i;
      if (best < 0) { at++; continue; }
      ids.push(best);
      at += vocab[best].length;
    }
    return ids;
  };
  return { encode, decode };
}

const VOCAB = ['<stop>', 'port', ' 8080', '80', ' ', 'P', 'ORT', '9999', 'listens', ' on', 'é'];
const { encode, decode } = toyCodec(VOCAB);
const logits = (prefs: Record<string, number>) => {
  const l = new Float32Array(VOCAB.length).fill(-10);
  for (const [piece, v] of Object.entries(prefs)) l[piece === '<stop>' ? 0 : VOCAB.indexOf(piece)] = v;
  return l;
};
const STOP = new Set([0]);

test('copy: the best token that keeps the answer a span of a source, else -1', () => {
  const c = new CopyConstraint(['The service listens on port 8080.'], encode, decode);
  // The model prefers a number the file never holds: the best allowed token wins instead.
  assert.equal(c.pick(logits({ '9999': 5, port: 3, ' 8080': 2 }), STOP, []), VOCAB.indexOf('port'));
  // Stop is not an answer: an empty answer cannot end.
  assert.equal(c.pick(logits({ '<stop>': 9, ' 8080': 1 }), STOP, []), VOCAB.indexOf(' 8080'));
  const tokens = [VOCAB.indexOf('port')];
  // "port 8080" occurs; "port80" and "port9999" do not; once the answer has text, stop is allowed.
  assert.equal(c.pick(logits({ '80': 6, '9999': 7, ' 8080': 1 }), STOP, tokens), VOCAB.indexOf(' 8080'));
  assert.equal(c.pick(logits({ '<stop>': 4, '9999': 7 }), STOP, tokens), 0);
  const none = new CopyConstraint([], encode, decode);
  assert.equal(none.pick(logits({ port: 1 }), STOP, []), -1);
});

test('copy: case-insensitive, leading spaces of the first token ignored, sources tokens always tried', () => {
  const c = new CopyConstraint(['PORT=8080'], encode, decode);
  // "P" + "ORT" and "port" all match case-insensitively; " 8080" as a first token matches "8080".
  assert.equal(c.pick(logits({ port: 2, P: 1 }), STOP, []), VOCAB.indexOf('port'));
  assert.equal(c.pick(logits({ ' 8080': 3, port: 2 }), STOP, []), VOCAB.indexOf(' 8080'));
  // The model's top candidates are all outside the sources: the sources' own tokens are still tried.
  const l = new Float32Array(VOCAB.length).fill(-10);
  l[VOCAB.indexOf('9999')] = 9;
  l[VOCAB.indexOf('ORT')] = -5;
  assert.equal(c.pick(l, STOP, []), VOCAB.indexOf('ORT'));
});

test('copy: a token holding part of a multi-byte character is allowed only before a non-ASCII character', () => {
  // Byte-level pieces: 1 = 0xC3 (alone it decodes to U+FFFD), 2 = 0xA9 (with 1: "é"), 3 = "x".
  const BYTES: Record<number, number> = { 1: 0xc3, 2: 0xa9, 3: 0x78 };
  const bytes = (ids: number[]) => Buffer.from(ids.filter((i) => i in BYTES).map((i) => BYTES[i])).toString('utf8');
  const enc = () => [1, 2, 3];
  const l = new Float32Array(4).fill(-10);
  l[1] = 5;
  l[3] = 1;
  // An ASCII source: the lone byte is never allowed.
  assert.equal(new CopyConstraint(['xx'], enc, bytes).pick(l, STOP, []), 3);
  // "xé": after "x" the byte that starts "é" is allowed, and then the one that completes it.
  const c = new CopyConstraint(['xé'], enc, bytes);
  assert.equal(c.pick(l, STOP, [3]), 1);
  const l2 = new Float32Array(4).fill(-10);
  l2[2] = 2;
  l2[3] = 3; // "x" + U+FFFD + "x" is no span
  assert.equal(c.pick(l2, STOP, [3, 1]), 2);
});

test('copy: the k best allowed tokens after an answer, best first (one list per beam)', () => {
  const c = new CopyConstraint(['The service listens on port 8080.'], encode, decode);
  const l = logits({ '9999': 9, ' 8080': 3, '<stop>': 2, '80': 5, port: 1 });
  // After "port": " 8080" and " " continue the span, stop ends it; "80" and "9999" do not ("port80", "port9999").
  assert.deepEqual(c.best(l, STOP, [VOCAB.indexOf('port')], 5), [VOCAB.indexOf(' 8080'), 0, VOCAB.indexOf(' ')]);
  // Before any answer: no stop, and only pieces of the source, by the model's preference.
  const first = c.best(l, STOP, [], 3);
  assert.deepEqual(first, [VOCAB.indexOf('80'), VOCAB.indexOf(' 8080'), VOCAB.indexOf('port')]);
  assert.deepEqual(c.best(l, STOP, [], 1), [c.pick(l, STOP, [])]);
});

test('copy: an answer naming only what the question quotes cannot end; the reader goes on copying', () => {
  const l = logits({ '<stop>': 9, ' 8080': 1 });
  const PORT = [VOCAB.indexOf('P'), VOCAB.indexOf('ORT')];
  // "PORT" only repeats the question's subject: stop is not allowed, the span goes on ("PORT=8080").
  assert.notEqual(new CopyConstraint(['PORT=8080'], encode, decode, 'What is `PORT` set to?').pick(l, STOP, PORT), 0);
  // Without the question, or once the answer names something else, stop is allowed.
  assert.equal(new CopyConstraint(['PORT=8080'], encode, decode).pick(l, STOP, PORT), 0);
  assert.equal(new CopyConstraint(['port 8080'], encode, decode, 'What is `PORT` set to?').pick(l, STOP, [VOCAB.indexOf('port'), VOCAB.indexOf(' 8080')]), 0);
  // A part of a quoted name is no subject: "Exception" answers "What is `UnpackException` derived from?".
  assert.equal(new CopyConstraint(['port 8080'], encode, decode, 'What is `PortPolicy` derived from?').pick(l, STOP, [VOCAB.indexOf('port')]), 0);
  // An unquoted question word is no subject: "port" may answer "Which is it, port or host?".
  assert.equal(new CopyConstraint(['port 8080'], encode, decode, 'Which is it, port or host?').pick(l, STOP, [VOCAB.indexOf('port')]), 0);
  // 'Quoted titles' and "quoted words" are subjects too; an apostrophe (flask's) quotes nothing.
  assert.notEqual(new CopyConstraint(['port 8080'], encode, decode, "What does the 'Port' section say?").pick(l, STOP, [VOCAB.indexOf('port')]), 0);
  assert.equal(new CopyConstraint(['port 8080'], encode, decode, "What is flask's port's value?").pick(l, STOP, [VOCAB.indexOf('port')]), 0);
});

test('copy: an answer that names nothing (punctuation, stop words) cannot end either', () => {
  const c = new CopyConstraint(['listens on port 8080'], encode, decode, 'What is the port?');
  // " on" is a stop word only: the span goes on ("on port").
  assert.notEqual(c.pick(logits({ '<stop>': 9, ' 8080': 1 }), STOP, [VOCAB.indexOf(' on')]), 0);
  assert.notEqual(c.pick(logits({ '<stop>': 9, ' 8080': 1 }), STOP, [VOCAB.indexOf(' on'), VOCAB.indexOf(' ')]), 0);
});

test('copy: an answer cannot end inside a word of its source', () => {
  const c = new CopyConstraint(['The service listens on port 8080.'], encode, decode);
  // "P" + "ORT" spells "port"; "p" alone would cut "port" in half.
  const p = [VOCAB.indexOf('P')];
  assert.equal(c.pick(logits({ '<stop>': 9, ORT: 1 }), STOP, p), VOCAB.indexOf('ORT'));
  assert.equal(c.pick(logits({ '<stop>': 9, ' 8080': 1 }), STOP, [...p, VOCAB.indexOf('ORT')]), 0);
  // "80" of "8080x" is inside a word wherever it occurs: go on. (In "8080" it also ends the text: it could stop.)
  const c2 = new CopyConstraint(['8080x'], encode, decode);
  assert.equal(c2.pick(logits({ '<stop>': 9, '80': 1 }), STOP, [VOCAB.indexOf('80')]), VOCAB.indexOf('80'));
});

test('copy: with anchors the answer must begin where an anchor begins, and may end at any word', () => {
  // The chunk also says "port 9999" elsewhere; the anchor (the named key's value) starts at 8080.
  const c = new CopyConstraint(['listens on port 9999 or port 8080'], encode, decode, '', ['8080 (the default)']);
  assert.equal(c.pick(logits({ port: 5, '9999': 4, '80': 1 }), STOP, []), VOCAB.indexOf('80'));
  assert.equal(c.pick(logits({ '<stop>': 3, '80': 1 }), STOP, [VOCAB.indexOf('80')]), VOCAB.indexOf('80'));
  assert.equal(c.pick(logits({ '<stop>': 3, '80': 1 }), STOP, [VOCAB.indexOf('80'), VOCAB.indexOf('80')]), 0);
  // Nothing else of the chunk may be copied, even what the model prefers.
  assert.equal(c.pick(logits({ ' on': 9 }), STOP, [VOCAB.indexOf('80'), VOCAB.indexOf('80')]), 0);
});

test('copy: a whole anchor (exactly a value) may end only where the anchor ends, though the model would stop at a word before', () => {
  const c = new CopyConstraint(['listens on port 8080 80'], encode, decode, '', ['8080 80'], true);
  const eighty = VOCAB.indexOf('80');
  // "8080" ends a word, and the model would stop there: the anchor goes on, so it may not.
  assert.equal(c.pick(logits({ '<stop>': 9, ' ': 1 }), STOP, [eighty, eighty]), VOCAB.indexOf(' '));
  assert.equal(c.pick(logits({ '<stop>': 9, '80': 1 }), STOP, [eighty, eighty, VOCAB.indexOf(' '), eighty]), 0);
  // Without wholeAnchors the same answer may stop at the word.
  const free = new CopyConstraint(['listens on port 8080 80'], encode, decode, '', ['8080 80']);
  assert.equal(free.pick(logits({ '<stop>': 9, ' ': 1 }), STOP, [eighty, eighty]), 0);
});

test("copy: what follows the answer in its source is always a candidate, though neither the model's best nor a source's own token", () => {
  // 40 filler pieces outrank 'egister' in the model's top 32; the anchor tokenizes as one 'Register' piece.
  const vocab = ['<stop>', 'Register', 'R', 'egister', ' a', ...Array.from({ length: 40 }, (_, i) => `f${i}`)];
  const { encode: enc, decode: dec } = toyCodec(vocab);
  const c = new CopyConstraint(['Register a hook.'], enc, dec, '', ['Register a hook.']);
  const l = new Float32Array(vocab.length).fill(0);
  l[vocab.indexOf('egister')] = -5;
  l[0] = 9; // the model would stop after "R": inside a word, it may not
  assert.equal(c.pick(l, new Set([0]), [vocab.indexOf('R')]), vocab.indexOf('egister'));
});

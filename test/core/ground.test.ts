// Grounding verdicts (src/core/ground.ts): pure, no model needed.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FOUND_MIN_COVERAGE, groundAnswer, GroundSource, MIN_MEMORY_GAIN, QUOTE_CHARS, repeatedRun } from '../../src/core/ground';
import { normalizeText, tokenize } from '../../src/core/terms';
import { promptOwnText } from '../../src/core/pack';
import { repetitionLoop } from '../../src/core/decodeText';

const CONFIG: GroundSource = {
  path: 'services/tirguri/config.yaml',
  startLine: 10,
  text: 'service: tirguri\n\ndatabase:\n  name: tirguri_prod\n  port: 5432\nmemory_limit: 1944Mi\n',
};
const CODE: GroundSource = {
  path: 'src/app.py',
  startLine: 1,
  text: 'import os\n\nTIMEOUT_SECONDS = 47\nmaxRetries = 3\n\ndef main():\n    return TIMEOUT_SECONDS\n',
};
const NOTES: GroundSource = {
  path: 'notes/launch.md',
  startLine: 3,
  text: '# Launch\n\nThe go-live is on Monday, 14 March 2025.\nBudget: 1,250,000 EUR, approved by Dana Okafor.\n',
};

function ask(question: string, answer: string, sources: GroundSource[] = [CONFIG, CODE, NOTES], memoryGain: number | null = 1) {
  return groundAnswer({ question, answer, sources, memoryGain });
}

test('normalisation: SQuAD-style, but identifiers and numbers stay whole', () => {
  assert.equal(normalizeText('The  Answer, is: "A Paris"!'), 'answer is paris');
  assert.deepEqual(tokenize('TIMEOUT_SECONDS = 47; maxRetries=3.5'), ['timeout_seconds', '47', 'maxretries', '3.5']);
  assert.deepEqual(tokenize('1,250,000 EUR'), ['1250000', 'eur']);
  assert.deepEqual(tokenize('v1.2.3 ends.'), ['v1.2.3', 'ends']);
  // unicode: NFKC (ﬁ ligature, full-width digits), combining marks stay inside the word
  assert.deepEqual(tokenize('ﬁle ４２ Café Cafe\u0301 東京'), ['file', '42', 'café', 'café', '東京']);
});

test('found: a number on a line of a multi-line chunk, with the exact line number', () => {
  const g = ask('What port does the tirguri database use?', '5432');
  assert.equal(g.verdict, 'found');
  assert.equal(g.reason, 'in-source');
  assert.equal(g.quotes.length, 1);
  assert.deepEqual(g.quotes[0], { path: 'services/tirguri/config.yaml', line: 14, text: 'port: 5432', citation: 0 });
  assert.equal(g.coverage, 1);
  assert.equal(g.memoryGain, 1);
});

test('found: the answer may be a sentence; stopwords and question words are not evidence', () => {
  const g = ask('What is the memory limit of tirguri?', 'The memory limit is 1944Mi.');
  assert.equal(g.verdict, 'found');
  assert.equal(g.quotes[0].line, 15);
  assert.equal(g.quotes[0].text, 'memory_limit: 1944Mi');
});

test('found: code identifiers (snake_case, camelCase) match whole or by parts', () => {
  const a = ask('Which constant holds the timeout?', 'TIMEOUT_SECONDS');
  assert.equal(a.verdict, 'found');
  assert.deepEqual([a.quotes[0].path, a.quotes[0].line, a.quotes[0].citation], ['src/app.py', 3, 1]);
  const b = ask('How many retries?', 'maxRetries = 3');
  assert.equal(b.verdict, 'found');
  assert.equal(b.quotes[0].line, 4);
  const c = ask('What is the database called?', 'tirguri_prod');
  assert.equal(c.verdict, 'found');
  assert.equal(c.quotes[0].line, 13);
});

test('found: names and formatted numbers', () => {
  const g = ask('Who approved the budget?', 'Dana Okafor');
  assert.equal(g.verdict, 'found');
  assert.deepEqual([g.quotes[0].path, g.quotes[0].line], ['notes/launch.md', 6]);
  assert.equal(ask('How big is the budget?', '1,250,000 EUR').verdict, 'found');
  assert.equal(ask('How big is the budget?', '1250000').verdict, 'found');
});

test('not sure: a wrong number, a wrong name or a wrong identifier is never found', () => {
  for (const [q, a] of [
    ['What port does the tirguri database use?', '5433'],
    ['What port does the tirguri database use?', 'port 8080'],
    ['What is the memory limit of tirguri?', '1944Gi'],
    ['Who approved the budget?', 'Dana Smith'],
    ['What is the database called?', 'tirguri_dev'],
    ['Which constant holds the timeout?', 'TIMEOUT_MS'],
  ]) {
    const g = ask(q, a);
    assert.equal(g.verdict, 'not-sure', `${q} -> ${a}`);
    assert.equal(g.reason, 'not-in-source', `${q} -> ${a}`);
    assert.match(g.message, /^Not sure/);
    // the most relevant lines are shown instead
    assert.ok(g.quotes.length >= 1 && g.quotes.length <= 3, `${a}: ${JSON.stringify(g.quotes)}`);
  }
  // "most relevant lines" follow the question: the database port line comes first
  const g = ask('What port does the tirguri database use?', '5433');
  assert.ok(g.quotes.some((q) => q.text === 'port: 5432' && q.line === 14), JSON.stringify(g.quotes));
  assert.ok(g.quotes.every((q) => q.path === CONFIG.path), 'lines of the file the question is about');
});

test('not sure: words scattered over several lines are not one line holding the answer', () => {
  // "service" is on line 10, "5432" on line 14: no single line has both salient tokens
  const g = ask('Which?', 'tirguri_prod 1944Mi');
  assert.equal(g.verdict, 'not-sure');
  assert.ok(g.coverage < 1);
});

test('not sure: empty, trivial or question-echoing answers are never found', () => {
  for (const a of ['', '   ', '…', 'the', 'Yes', 'no.', 'true']) {
    const g = ask('Is the database tirguri_prod?', a);
    assert.equal(g.verdict, 'not-sure', JSON.stringify(a));
    assert.equal(g.reason, 'empty-answer', JSON.stringify(a));
  }
  const echo = ask('What port does the tirguri database use?', 'The tirguri database port');
  assert.equal(echo.verdict, 'not-sure');
  assert.equal(echo.reason, 'repeats-question');
});

test('not sure: the answer is in the source but does not depend on the memory (contrast ≈ 0)', () => {
  const g = ask('What port does the tirguri database use?', '5432', [CONFIG], MIN_MEMORY_GAIN / 2);
  assert.equal(g.verdict, 'not-sure');
  assert.equal(g.reason, 'memory-independent');
  assert.equal(g.quotes[0].text, 'port: 5432', 'the line is still shown, as a relevant line');
  assert.equal(ask('What port does the tirguri database use?', '5432', [CONFIG], -0.7).verdict, 'not-sure');
  // not measured (no memory prefix): the text test alone decides
  assert.equal(ask('What port does the tirguri database use?', '5432', [CONFIG], null).verdict, 'found');
  assert.equal(ask('What port does the tirguri database use?', '5432', [CONFIG], MIN_MEMORY_GAIN + 0.01).verdict, 'found');
});

test('not sure: no sources at all', () => {
  const g = ask('What port?', '5432', []);
  assert.equal(g.verdict, 'not-sure');
  assert.equal(g.reason, 'no-sources');
  assert.deepEqual(g.quotes, []);
});

test('coverage threshold: most of the evidence must be on the line', () => {
  assert.ok(FOUND_MIN_COVERAGE > 0.5 && FOUND_MIN_COVERAGE <= 1);
  // "go-live on Monday" -> evidence: monday (go, live are the question's)
  assert.equal(ask('When is the go-live?', 'go-live on Monday').verdict, 'found');
  // only 1 of 3 evidence tokens on any line
  assert.equal(ask('When is the go-live?', 'Monday purple elephants').verdict, 'not-sure');
});

test('unicode lines and long lines: the quote is clipped around the match', () => {
  const uni: GroundSource = { path: 'docs/東京.md', startLine: 1, text: 'intro\nLa capitale est Zürich, près du lac.\n' };
  const g = ask('Quelle est la capitale ?', 'Zürich', [uni]);
  assert.equal(g.verdict, 'found');
  assert.deepEqual([g.quotes[0].path, g.quotes[0].line], ['docs/東京.md', 2]);
  const long: GroundSource = { path: 'a.txt', startLine: 7, text: 'x '.repeat(400) + 'the answer is QX_42 here ' + 'y '.repeat(400) };
  const l = ask('what is the answer?', 'QX_42', [long]);
  assert.equal(l.verdict, 'found');
  assert.equal(l.quotes[0].line, 7);
  assert.ok(l.quotes[0].text.length <= QUOTE_CHARS + 2, String(l.quotes[0].text.length));
  assert.ok(l.quotes[0].text.includes('QX_42'), l.quotes[0].text);
  assert.ok(l.quotes[0].text.startsWith('…') && l.quotes[0].text.endsWith('…'));
});

test('the line must be about the question: a bare number elsewhere in the chunks is not "found"', () => {
  // "3" is on line 4 (maxRetries = 3), but nothing there (or just above) is about regions or tivuix
  const g = ask('In what region can I find the tivuix deployment?', '3');
  assert.equal(g.verdict, 'not-sure');
  // ...and the user is told so, with that line shown first, rather than "does not appear in the cited files"
  assert.equal(g.reason, 'off-question');
  assert.match(g.message, /not on a line about your question/);
  assert.match(g.quotes[0].text, /maxRetries/);
  assert.equal(g.coverage, 1);
  // the same number asked about retries is found there
  assert.equal(ask('How many retries?', '3').verdict, 'found');
  // the question's words may sit on a parent line just above (YAML nesting): "database:" -> "name: tirguri_prod"
  const nested = ask('What is the database called?', 'tirguri_prod');
  assert.equal(nested.verdict, 'found');
  assert.equal(nested.quotes[0].line, 13);
  // ...but not further up than CONTEXT_LINES
  const far: GroundSource = { path: 'f.yaml', startLine: 1, text: 'database:\n  a: 1\n  b: 2\n  c: 3\n  name: orzo_db\n' };
  assert.equal(ask('What is the database called?', 'orzo_db', [far]).verdict, 'not-sure');
});

test('several chunks: the quote must come from the chunk about the question\'s distinctive word', () => {
  const sources: GroundSource[] = [
    { path: 'notes/malnoix-planning.md', startLine: 1, text: '# malnoix sync\n\n- malnoix has a memory limit of 4544Mi.\n- malnoix runs in me-central-1.' },
    { path: 'services/sulsofu/config.yaml', startLine: 1, text: 'service: sulsofu\nmemory_limit: 7488Mi\nmax_retries: 8' },
  ];
  const q = "What's the memory limit of malnoix?";
  const wrong = groundAnswer({ question: q, answer: 'The memory limit of malnoix is 7488Mi.', sources });
  assert.equal(wrong.verdict, 'not-sure', 'a value from another service\'s file is not "found"');
  const right = groundAnswer({ question: q, answer: 'The memory limit of malnoix is 4544Mi.', sources });
  assert.equal(right.verdict, 'found');
  assert.equal(right.quotes[0].path, 'notes/malnoix-planning.md');
  assert.equal(right.quotes[0].line, 3);
  // the same value in the right chunk among others is still found
  const swapped = groundAnswer({ question: q, answer: '4544Mi', sources: [sources[1], sources[0]] });
  assert.equal(swapped.verdict, 'found');
  assert.equal(swapped.quotes[0].citation, 1);
});

test('a paragraph on one line is checked sentence by sentence', () => {
  const para = 'The university was founded in 1842 by Father Edward Sorin. ' +
    'Its main library, the Hesburgh Library, is 14 stories tall and holds over three million volumes. ' +
    'The Scholastic magazine began publishing in September 1876 and is one of the oldest student publications.';
  const sources: GroundSource[] = [{ path: 'about.md', startLine: 1, text: para }];
  const q = 'How many stories tall is the main library?';
  assert.equal(groundAnswer({ question: q, answer: '14 stories', sources }).verdict, 'found');
  // 1842 is in the paragraph, but not in a sentence about the library
  assert.equal(groundAnswer({ question: q, answer: '1842', sources }).verdict, 'not-sure');
  const found = groundAnswer({ question: q, answer: 'It is 14 stories tall.', sources });
  assert.equal(found.quotes[0].line, 1);
  assert.ok(found.quotes[0].text.startsWith('Its main library'), found.quotes[0].text);
});

test('not sure: in the source, but the model was less confident than the pack\'s floor', () => {
  const base = { question: 'What port does the tirguri database use?', answer: '5432', sources: [CONFIG], memoryGain: null };
  const low = groundAnswer({ ...base, confidence: -1.2, minConfidence: -0.6 });
  assert.equal(low.verdict, 'not-sure');
  assert.equal(low.reason, 'low-confidence');
  assert.equal(low.quotes[0].text, 'port: 5432', 'the line is still shown first');
  assert.match(low.message, /unsure/);
  assert.equal(groundAnswer({ ...base, confidence: -0.3, minConfidence: -0.6 }).verdict, 'found');
  assert.equal(groundAnswer({ ...base, confidence: -0.6, minConfidence: -0.6 }).verdict, 'found', 'the floor itself passes');
  // no floor, or no confidence: the text test alone decides
  assert.equal(groundAnswer({ ...base, confidence: -5 }).verdict, 'found');
  assert.equal(groundAnswer({ ...base, minConfidence: -0.1 }).verdict, 'found');
  // the floor never turns a not-in-source answer into anything else
  assert.equal(groundAnswer({ ...base, answer: '9999', confidence: -0.01, minConfidence: -0.6 }).reason, 'not-in-source');
});

test('not sure: a value from the right file but another fact\'s line (the name is on every line)', () => {
  const notes: GroundSource = {
    path: 'docs/sinlu.md',
    startLine: 1,
    text: '# sinlu sync\n\n- sinlu backups run at 01:30 UTC.\n- sinlu allows 16100 requests per minute per client.\n- sinlu alerts go to #sinlu-ops.\n- sinlu runs 13 replicas.',
  };
  const q = 'How many calls per minute can a client make to sinlu?';
  const wrong = groundAnswer({ question: q, answer: '01:30', sources: [notes] });
  assert.equal(wrong.verdict, 'not-sure', 'the backup time is not about calls per minute');
  assert.equal(groundAnswer({ question: q, answer: '16100', sources: [notes] }).verdict, 'found');
  assert.equal(groundAnswer({ question: "What's sinlu scaled to, in replicas?", answer: '13', sources: [notes] }).verdict, 'found', 'replicas = replica(s), stemmed');
  assert.equal(groundAnswer({ question: "What's sinlu scaled to, in replicas?", answer: '16100', sources: [notes] }).verdict, 'not-sure');
});

test('a question about something the cited files never mention is not "found" on a look-alike line', () => {
  const billing: GroundSource = { path: 'svc/billing.yaml', startLine: 1, text: 'service: billing\nowner: Marta Oyelaran\nreplicas: 3\nport: 7311\n' };
  const notes: GroundSource = { path: 'NOTES.md', startLine: 1, text: '# Ops notes\n\nThe ledger service was moved to its own cluster.\nRetries for ledger are capped at 5.\n' };
  // there is no payroll service: "3" is billing's replica count
  const g = ask('How many replicas does the payroll service run?', '3', [billing, notes]);
  assert.equal(g.verdict, 'not-sure');
  assert.equal(g.reason, 'other-subject');
  assert.match(g.message, /names something that none of the cited files mention/);
  assert.match(g.quotes[0].text, /replicas: 3/); // the line it would have quoted is shown, to check
  assert.equal(ask('How many replicas does the Payroll service run?', '3', [billing, notes]).reason, 'other-subject');
  // the same question about billing is found: by its path, or by the value of its first lines
  assert.equal(ask('How many replicas does the billing service run?', '3', [billing, notes]).verdict, 'found');
  const rootConfig: GroundSource = { ...billing, path: 'config.yaml' };
  assert.equal(ask('How many replicas does billing run in production?', '3', [rootConfig]).verdict, 'found');
  assert.equal(ask('How many replicas does payroll run in production?', '3', [rootConfig]).verdict, 'not-sure');
  // a question that names no subject cannot be about another one
  assert.equal(ask('How many replicas?', '3', [billing, notes]).verdict, 'found');
  // a name of the question found in the quoted chunk ties them, whatever the path says
  const person: GroundSource = { path: 'misc/team.md', startLine: 1, text: 'intro\nstuff\nMarta Oyelaran joined in 2021.\n' };
  assert.equal(ask('When did Marta Oyelaran join the payments org?', '2021', [person]).verdict, 'found');
  assert.equal(ask('When did Ivo Brandt join the payments org?', '2021', [person]).verdict, 'not-sure');
  // an acronym names a kind of thing, not which one: DbHost of vulis is no answer about tirguri
  const vulis: GroundSource = { path: 'internal/vulis/config.go', startLine: 1, text: 'package vulis\n\n// Defaults for vulis.\nconst (\n\tDbPoolSize = 8\n\tDbHost = "mq-ginnuvo-32.internal"\n)\n' };
  assert.equal(ask('What DB name is configured for tirguri?', 'mq-ginnuvo-32.internal', [vulis]).reason, 'other-subject');
  assert.equal(ask('What DB host is configured for vulis?', 'mq-ginnuvo-32.internal', [vulis]).verdict, 'found');
  const setup: GroundSource = { path: 'setup.py', startLine: 1, text: 'NAME = "PyYAML"\nURL = "https://pyyaml.org/"\n' };
  assert.equal(ask('What is `URL` set to in the tirguri package?', 'https://pyyaml.org/', [setup]).verdict, 'found', 'an identifier in backticks names the line');
});

test('an answer that is a line\'s whole value is found even when the line shares no word with the question', () => {
  const cfg: GroundSource = {
    path: 'config/glantuio.yaml',
    startLine: 1,
    text: '# glantuio configuration\nservice: glantuio\nlog_level: info\nmemory_limit: 8128Mi\ncompression: gzip\nretry_backoff: exponential\ndescription: "anonymizes map tiles before partners see them"\nenvironment: staging\n',
  };
  const g = ask('What does the glantuio service do?', 'anonymizes map tiles before partners see them', [cfg]);
  assert.equal(g.verdict, 'found');
  assert.equal(g.quotes[0].line, 7);
  // too short to be more than a coincidence: a bare value still needs a line about the question
  assert.equal(ask('What does the glantuio service do?', 'gzip', [cfg]).verdict, 'not-sure');
  // nor is a date, though it is three tokens: "karo standup, 2026-04-09" is no answer about replicas
  const notes: GroundSource = { path: 'notes/karo.md', startLine: 1, text: '# karo sync, 2026-04-09\n\nNotes:\n- karo has a memory limit of 1600Mi.\n- The karo database is called gillaar-main.\n- We keep 35 replicas of karo running.\n- karo is rate limited to 11620 requests per minute.\n' };
  assert.equal(ask("What's karo scaled to, in replicas?", '2026-04-09', [notes]).verdict, 'not-sure');
  assert.equal(ask("What's karo scaled to, in replicas?", '35', [notes]).verdict, 'found');
  // a few words of a long sentence are not that sentence's value
  const prose: GroundSource = { path: 'notes/glantuio.md', startLine: 1, text: 'glantuio notes\n\nIt runs in eu-west-1.\nIt is owned by the maps team.\nIts cache is warm.\nOn Mondays the team at the north office reviews map tiles before partners see them in the portal, then files a report.\n' };
  assert.equal(ask('What does the glantuio service do?', 'map tiles before partners', [prose]).verdict, 'not-sure');
  // and only in a chunk that mentions what the question is about
  assert.equal(ask('What does the payroll service do?', 'anonymizes map tiles before partners see them', [cfg]).verdict, 'not-sure');
});

test('degenerate answers (a repetition loop) and echoes of the prompt example are never found', () => {
  assert.ok((repeatedRun('bambo-1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.') ?? '').length >= 30);
  assert.ok(repeatedRun('the the the the'));
  assert.equal(repeatedRun('10.0.0.1'), null);
  assert.equal(repeatedRun('4544Mi'), null);
  assert.equal(repeatedRun('Use `--` to stop option parsing'), null);
  const sources = [{ path: 'LICENSE', startLine: 1, text: 'MIT License\n\nCopyright (c) 2024 Bambo contributors' }];
  const loop = groundAnswer({ question: 'Which licence does bambo use?', answer: 'bambo-1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.', sources });
  assert.equal(loop.verdict, 'not-sure');
  assert.equal(loop.reason, 'degenerate');
  assert.ok(loop.quotes.length > 0, 'the relevant lines are shown instead');
  // The same run in the user's file is a value, not a loop.
  const zeros = groundAnswer({ question: 'What is the null id?', answer: '0000000000000000', sources: [{ path: 'ids.cfg', startLine: 1, text: 'null id: 0000000000000000' }] });
  assert.notEqual(zeros.reason, 'degenerate');
  const promptText = promptOwnText({ context: "<|im_start|>user\nservice: billing\nport: 8431\nowner: Ada Park\n\nQuestion: Which port does billing listen on?<|im_end|>\n<|im_start|>assistant\n8431<|im_end|>\n<|im_start|>user\n{context}\n\nQuestion: {question}" });
  const src = [{ path: 'README.md', startLine: 1, text: 'tidepool listens on port 7420.' }];
  const echo = groundAnswer({ question: 'Who owns tidepool?', answer: 'Ada Park', sources: src, promptText });
  assert.equal(echo.reason, 'prompt-echo');
  assert.equal(groundAnswer({ question: 'What port does tidepool listen on?', answer: '8431', sources: src, promptText }).reason, 'prompt-echo');
  assert.equal(groundAnswer({ question: 'What port does tidepool listen on?', answer: '7420', sources: src, promptText }).verdict, 'found');
});

test('decoding stops at a repetition loop, not at a value', () => {
  assert.ok(repetitionLoop([5, 9, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]));
  assert.ok(repetitionLoop(new Array(12).fill(7)));
  assert.ok(!repetitionLoop([1, 2, 1, 2, 1, 2, 1])); // "1.1.1.1": an IP address repeats its unit 3 times
  assert.ok(!repetitionLoop(new Array(11).fill(0)));
  assert.ok(!repetitionLoop([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
});

test('no-answer outputs are flagged for the front ends; guesses are not', () => {
  const src = [{ path: 'README.md', startLine: 1, text: 'tidepool listens on port 7420.' }];
  assert.equal(groundAnswer({ question: 'Who owns tidepool?', answer: 'x.x.x.x.x.x.x.x.x.x.x.x', sources: src }).noAnswer, true);
  assert.equal(groundAnswer({ question: 'Who owns tidepool?', answer: 'Bob Stone', sources: src }).noAnswer, undefined);
});

test('other-subject: in a changelog, an answer under another version\'s heading is not the asked version\'s', () => {
  const log: GroundSource = {
    path: 'CHANGES.md',
    startLine: 40,
    text: 'Version 4.7.2\n-------------\n\nReleased 2031-05-19\n\n-   Pin the parser to >= 4.7.0. This fixes\n    the slow path.\n\nVersion 4.7.1\n-------------\n\nReleased 2031-04-02\n\n-   Fix a crash.\n',
  };
  const right = ask('When was 4.7.2 released?', '2031-05-19', [log]);
  assert.equal(right.verdict, 'found');
  assert.equal(right.quotes[0].line, 43);
  const wrong = ask('When was 4.7.2 released?', '2031-04-02', [log]);
  assert.equal(wrong.verdict, 'not-sure');
  assert.equal(wrong.reason, 'other-subject');
  assert.equal(ask('When was 4.7.1 released?', '2031-04-02', [log]).verdict, 'found');
  // A question that names no version is not affected.
  assert.equal(ask('What does the parser pin say?', '>= 4.7.0', [log]).reason === 'other-subject', false);
});

test('other-subject: a line far from the key the question puts in backticks answers another key', () => {
  const pkg: GroundSource = {
    path: 'package.json',
    startLine: 1,
    text: '{\n  "name": "glanto",\n  "version": "7.41.3",\n  "description": "maps for partners",\n  "license": "MIT",\n  "main": "lib/index.js",\n  "devDependencies": {\n    "eslint": "^9.1.0",\n    "rollup": "^4.18.0",\n    "tsx": "^4.7.0"\n  }\n}\n',
  };
  // The package's own version, two keys and more above `rollup`: the words are on a line about "version", but not about rollup.
  const wrong = ask('Which version of `rollup` is in glanto\'s package.json?', '7.41.3', [pkg]);
  assert.equal(wrong.verdict, 'not-sure');
  assert.equal(wrong.reason, 'other-subject');
  assert.equal(ask('Which version of `rollup` is in glanto\'s package.json?', '^4.18.0', [pkg]).verdict, 'found');
  // The key in another cited chunk of the file (the manifest split in two chunks): the same.
  const [head, deps] = [pkg.text.split('\n').slice(0, 6).join('\n'), pkg.text.split('\n').slice(6).join('\n')];
  const split: GroundSource[] = [{ path: 'package.json', startLine: 1, text: head }, { path: 'package.json', startLine: 7, text: deps }];
  assert.equal(ask('Which version of `rollup` is in glanto\'s package.json?', '7.41.3', split).reason, 'other-subject');
  assert.equal(ask('Which version of `rollup` is in glanto\'s package.json?', '^4.18.0', split).verdict, 'found');
  // A backticked file name names the file, not a key (`CHANGES` below is also a word of the chunk's text).
  const log: GroundSource = { path: 'CHANGES', startLine: 1, text: 'Changes\n=======\n\n7.42.0 (2031-06-01)\n\n* Faster tiles.\n\n7.41.3 (2031-05-19)\n\n* Fewer changes to the cache.\n' };
  assert.equal(ask('What is the release date of glanto 7.41.3 according to `CHANGES`?', '2031-05-19', [log]).verdict, 'found');
  // A name no cited chunk holds puts no condition; a name on a line just above the answer's counts.
  assert.equal(ask('What version is `glanto` at?', '7.41.3', [pkg]).verdict, 'found');
  assert.equal(ask('Which `devDependencies` entry comes first?', 'eslint', [pkg]).reason === 'other-subject', false);
});

// Definitions (tree-sitter and line rules), chunks split at them, and the question-side helpers of
// the definition index and the path retriever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definitionsOf, flatten } from '../../src/core/syntax';
import { chunkFile } from '../../src/core/chunk';
import { defineTerms, pathMentions, questionDefTerms } from '../../src/core/names';
import { versionsIn } from '../../src/core/terms';

const PY = [
  'import os',
  '',
  'DEFAULT_TIMEOUT = 30',
  '',
  '',
  '@decorator',
  'def merge_setting(request_setting, session_setting, dict_class=dict):',
  '    """Merge two settings."""',
  '    return request_setting',
  '',
  '',
  'class Session:',
  '    """A session."""',
  '',
  '    max_redirects = 30',
  '',
  '    def send(self, request, timeout=None):',
  '        return request',
  '',
  '    def close(self):',
  '        pass',
  '',
].join('\n');

test('python: functions (with decorators), classes, methods, constants, with 0-based line ranges', async () => {
  const defs = await definitionsOf('src/pkg/sessions.py', PY);
  assert.ok(defs);
  const by = new Map(flatten(defs).map((d) => [d.qualified, d]));
  assert.deepEqual([...by.keys()], ['DEFAULT_TIMEOUT', 'merge_setting', 'Session', 'Session.max_redirects', 'Session.send', 'Session.close']);
  assert.deepEqual([by.get('merge_setting')!.start, by.get('merge_setting')!.end], [5, 8]); // the decorator line starts it
  assert.equal(by.get('Session.send')!.kind, 'method');
  assert.equal(by.get('DEFAULT_TIMEOUT')!.kind, 'constant');
  assert.deepEqual([by.get('Session')!.start, by.get('Session')!.end], [11, 20]);
});

test('javascript: JSDoc above a member assignment belongs to the definition; exports and classes', async () => {
  const js = ['/**', ' * Send JSON.', ' */', '', 'res.json = function json(obj) {', '  return obj;', '};', '', 'export class Router {', '  route(path) { return path; }', '}', 'const LIMIT = 100;'].join('\n');
  const defs = await definitionsOf('lib/response.js', js);
  const all = flatten(defs!);
  const json = all.find((d) => d.name === 'json')!;
  assert.equal(json.qualified, 'res.json');
  assert.equal(json.start, 0, 'the JSDoc block (one blank line above) starts the definition');
  assert.ok(all.some((d) => d.qualified === 'Router.route' && d.kind === 'method'));
  assert.ok(all.some((d) => d.name === 'LIMIT' && d.kind === 'constant'));
});

test('rust, typescript: items and impl methods', async () => {
  const rs = await definitionsOf('src/lib.rs', 'const MAX: usize = 1024;\nstruct A;\nimpl A {\n    fn go(&self) {}\n}\n');
  assert.deepEqual(flatten(rs!).map((d) => d.qualified), ['MAX', 'A', 'A', 'A.go']);
  const ts = await definitionsOf('index.d.ts', 'export interface Opts { retries: number }\nexport declare function parse(s: string): Opts;\n');
  assert.deepEqual(flatten(ts!).map((d) => d.qualified), ['Opts', 'Opts.retries', 'parse']);
});

test('config keys and Markdown headings by line rules; unknown files: null', async () => {
  const toml = await definitionsOf('pyproject.toml', '[project]\nname = "x"\nrequires-python = ">=3.8"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n');
  assert.deepEqual(flatten(toml!).map((d) => d.qualified), ['project', 'project.name', 'project.requires-python', 'tool.pytest.ini_options', 'tool.pytest.ini_options.testpaths']);
  const md = await definitionsOf('README.md', '# Tool\nintro\n## Install\npip install tool\n```\n# not a heading\n```\n## Use\nrun it\n');
  assert.deepEqual(flatten(md!).map((d) => [d.qualified, d.start, d.end]), [['Tool', 0, 8], ['Tool > Install', 2, 6], ['Tool > Use', 7, 8]]);
  assert.equal(await definitionsOf('notes.txt', 'hello'), null);
  const broken = await definitionsOf('broken.py', 'def (:\n  ::: nonsense'); // a syntax error is no exception
  assert.ok(broken === null || Array.isArray(broken));
});

test('chunkFile with definitions: no chunk straddles two top-level definitions when each fits; chunks name their symbol and definitions', async () => {
  const defs = await definitionsOf('src/pkg/sessions.py', PY);
  const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
  const chunks = chunkFile('src/pkg/sessions.py', PY, words, 14, undefined, defs);
  const lines = PY.split('\n');
  for (const c of chunks) assert.equal(c.text, lines.slice(c.startLine - 1, c.endLine).join('\n'));
  const send = chunks.find((c) => c.defines?.includes('send'))!;
  assert.ok(send.defines!.includes('Session.send'));
  assert.match(send.symbol ?? '', /Session/);
  const merge = chunks.find((c) => c.defines?.includes('merge_setting'))!;
  assert.equal(merge.startLine, 6, 'starts at the decorator');
  assert.ok(merge.defines!.includes('sessions.merge_setting'), 'top-level definitions are also named by their module');
  assert.ok(!send.defines!.includes('sessions.send'), 'methods are not module-level names');
  // Without definitions the chunker behaves as before (no symbol, no defines).
  assert.ok(chunkFile('src/pkg/sessions.py', PY, words, 14).every((c) => c.symbol === undefined && c.defines === undefined));
});

test('definition index tokens: identifiers whole, a question reaches them by any spelling or by adjacent words', () => {
  assert.equal(defineTerms(['merge_setting', 'Session.send', 'x']), 'mergesetting sessionsend');
  const q = questionDefTerms('What is the default timeout of `Session.send` and merge settings?').split(' ');
  for (const t of ['defaulttimeout', 'sessionsend', 'session', 'send', 'mergesettings']) assert.ok(q.includes(t), t);
  assert.ok(!q.includes('the') && !q.includes('what'));
});

test('pathMentions: file names, well-known stems, cued stems, folders; a bare project name is not a file', () => {
  const paths = ['pyproject.toml', 'README.md', 'src/requests/sessions.py', 'lib/express.js', 'tests/test_sessions.py', '.github/workflows/ci.yml', 'tox.ini'];
  const top = (q: string) => pathMentions(q, paths).map((m) => m.path);
  assert.equal(top('What is the minimum Python in pyproject.toml?')[0], 'pyproject.toml');
  assert.equal(top('What does the README say about installing?')[0], 'README.md');
  assert.equal(top('Which class lives in the sessions module?')[0], 'src/requests/sessions.py');
  assert.deepEqual(top('What environment does Express assume?'), []);
  assert.equal(top('Which Python versions does the CI workflow in .github test?')[0], '.github/workflows/ci.yml');
  assert.equal(top('Which envs does tox.ini define?')[0], 'tox.ini');
});

test('changelogs: underlined titles in CHANGES (no extension); their versions reach the definition index', async () => {
  const changes = await definitionsOf('CHANGES', 'For a complete changelog, see the site.\n\n3.13 (2018-07-05)\n-----------------\n\n* Resolved issues\n\n3.12 (2016-08-28)\n-----------------\n\n* Wheels\n');
  assert.deepEqual(flatten(changes!).map((d) => [d.qualified, d.start, d.end]), [['3.13 (2018-07-05)', 2, 5], ['3.12 (2016-08-28)', 7, 10]]);
  assert.notEqual(await definitionsOf('HISTORY.txt', 'x'), null);
  assert.equal(await definitionsOf('CHANGES.log', 'x'), null);
  assert.deepEqual(versionsIn('Version 2.2.2, v1.0.0 and python 3.13; not 2022-08-08 or x1.2'), ['2.2.2', '1.0.0', '3.13']);
  assert.equal(defineTerms(['3.13 (2018-07-05)']), '31320180705 3.13');
  // The version counts three times in the question's terms: it outweighs the project's name.
  assert.equal(questionDefTerms('When was PyYAML 3.13 released?').split(' ').filter((t) => t === '3.13').length, 3);
});

test('YAML/JSON keys are qualified by their parents; "depend on `x`" reaches a manifest\'s dependencies.x', async () => {
  const json = await definitionsOf('package.json', '{\n  "name": "glanto",\n  "dependencies": {\n    "parseurl": "~1.3.3"\n  },\n  "devDependencies": {\n    "marked": "0.7.0"\n  }\n}\n');
  assert.deepEqual(flatten(json!).map((d) => d.qualified), ['name', 'dependencies', 'dependencies.parseurl', 'devDependencies', 'devDependencies.marked']);
  const yaml = await definitionsOf('ci.yml', 'on:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu-latest\n');
  assert.deepEqual(flatten(yaml!).map((d) => d.qualified), ['on', 'on.push', 'on.push.branches', 'jobs', 'jobs.test', 'jobs.test.runs-on']);
  const q = questionDefTerms('Which version of `parseurl` does glanto depend on?').split(' ');
  assert.ok(q.includes('dependenciesparseurl') && q.includes('devdependenciesparseurl'));
  assert.ok(!questionDefTerms('Which version of `parseurl` does glanto use?').split(' ').includes('dependenciesparseurl'));
  assert.ok(defineTerms(['dependencies.parseurl']).split(' ').includes('dependenciesparseurl'));
});

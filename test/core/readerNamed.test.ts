import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { docNames, docOf, keyWindow, latestRelease, namedChunk, namedWindow, valueWindow } from '../../src/core/readerNamed';
import { DEFAULT_FOCUS, readerView, readerWindow } from '../../src/core/readerFocus';

const py = [
  'class Glanto:',
  '    @setupmethod',
  '    def after_spin(',
  '        self, f: T_after,',
  '    ) -> T_after:',
  '        """Register a function to run after each spin',
  '        of this glanto.',
  '',
  '        The function is called with the spin object.',
  '        """',
  '        return f',
  '',
  '    def reset(self):',
  '        """Reset the glanto."""',
  '        self.n = 0',
  '',
  'def spin(o, stream):',
  '    """',
  '    Spin object `o` and write it to `stream`',
  '',
  '    See :class:`Glanto` for options.',
  '    """',
];

test('a question that asks what something does names its subject, the first backticked name', () => {
  assert.deepEqual(docNames('What does `Glanto.after_spin` do?'), ['after_spin']);
  assert.deepEqual(docNames('What is `--port` for on the glanto `run` command?'), ['--port']);
  assert.deepEqual(docNames("Briefly, what's the purpose of `glanto.debug.explain_attempts`?"), ['explain_attempts']);
  assert.deepEqual(docNames("What's the one-line description of `res.sendStatus()`?"), ['sendStatus']);
  assert.deepEqual(docNames('In glanto, what does the docstring of `Glanto.reset` say it does?'), ['reset']);
  // Not a question about what something does, or nothing named.
  assert.deepEqual(docNames('Which port does `glanto` listen on?'), []);
  assert.deepEqual(docNames('What does glanto do?'), []);
});

test('a Python docstring is read from its first line to the end of its first sentence', () => {
  assert.deepEqual(docOf('after_spin', py), [5, 7]); // the decorator and the signature left out
  assert.deepEqual(docOf('reset', py), [13, 14]); // one line, opening and closing quotes on it
  assert.deepEqual(docOf('spin', py), [18, 19]); // the text starts on the line after the quotes
  assert.equal(docOf('missing', py), null);
  assert.equal(docOf('Glanto', py), null); // a class without a docstring
});

const js = [
  '/**',
  ' * Send given HTTP status code.',
  ' *',
  ' * Sets the response status to `statusCode`.',
  ' *',
  ' * @param {number} statusCode',
  ' */',
  '',
  'res.sendStatus = function sendStatus(statusCode) {',
  '  return this.send(statusCode);',
  '};',
  '',
  '/**',
  ' * @private',
  ' */',
  'function hidden() {}',
];

test('a JavaScript function is read by the JSDoc above it; a chunk cut before the function by what it defines', () => {
  assert.deepEqual(docOf('sendStatus', js), [1, 2]);
  assert.equal(docOf('hidden', js), null); // only tags: nothing to read
  const cut = js.slice(0, 7); // the chunk ends before `res.sendStatus = ...`
  assert.equal(docOf('sendStatus', cut), null);
  assert.deepEqual(docOf('sendStatus', cut, ['res.sendStatus', 'sendStatus']), [1, 2]);
});

test("a command-line option is read by its help text (click's help=, commander's description on the option's line)", () => {
  const click = [
    '@click.command("run")',
    '@click.option("--port", "-p", default=5000, help="The port to bind to.")',
    '@click.option(',
    '    "--reload/--no-reload",',
    '    default=None,',
    '    help="Enable or disable the reloader. By default the reloader "',
    '    "is active if debug is enabled.",',
    ')',
    '@click.option("--extra", default=None)',
    'def run_command(port, reload): ...',
  ];
  assert.deepEqual(docOf('--port', click), [1, 2]);
  assert.deepEqual(docOf('--reload', click), [5, 6]);
  assert.deepEqual(docOf('--no-reload', click), null); // not at the start of its string
  assert.deepEqual(docOf('--extra', click), [8, 9]); // no help: the option's own line
  const commander = ["program.option('-p, --port <n>', 'port to listen on', 8080);"];
  assert.deepEqual(docOf('--port', commander), [0, 1]);
  // Prose that merely mentions the option is not its definition.
  assert.equal(docOf('--port', ['instead of ``glanto run --port 8000``:']), null);
});

test('a value is read on the line that assigns the name the question asks about', () => {
  const code = ['app.path = function path() {', "  var path = '/';", '  path = fn;', '  # ANCHOR = 3', "  ANCHOR: str = 'id%03d'", "  this.set('subdomain offset', 2);"];
  // The line, and the column where its value starts (after an opening quote).
  assert.deepEqual(valueWindow('In `app.use`, what is `path` initialised to?', code), { range: [1, 2], col: 14 }); // the first, not the function
  assert.deepEqual(valueWindow('What is `Serializer.ANCHOR` set to?', code), { range: [4, 5], col: 17 }); // not the comment
  assert.deepEqual(valueWindow('Out of the box, what does glanto set `subdomain offset` to?', code), { range: [5, 6], col: 31 });
  assert.equal(valueWindow('Which function calls `path`?', code), null); // not asked for a value
  assert.equal(valueWindow('What is `missing` set to?', code), null);
});

test('a config key is read by the full name the question quotes, with the lines under it', () => {
  const yaml = ['name: Tests', 'on:', '  push:', '    branches: [main, stable]', '    paths-ignore: [docs]', '  pull_request:', '    paths-ignore: [docs]', 'jobs:', '  matrix:', '    python:', "      - '3.12'", "      - '3.11'", '  os: linux'];
  assert.deepEqual(keyWindow('In `tests.yaml`, what is `on.push.branches`?', yaml, '.github/workflows/tests.yaml'), [3, 4]);
  assert.deepEqual(keyWindow('Which versions does `matrix.python` list?', yaml, 'ci.yml'), [9, 12]);
  // `paths-ignore` is under push and under pull_request: ambiguous, nothing cut.
  assert.equal(keyWindow('What is `paths-ignore`?', yaml, 'ci.yml'), null);
  assert.equal(keyWindow('What is `branches`?', yaml, 'README.md'), null); // not a config file
  const ini = ['[testenv:docs]', 'change_dir = docs', 'skip_install = true', '', '[testenv:update-requirements]', 'skip_install = true', 'change_dir = requirements'];
  assert.deepEqual(keyWindow('What does `tox.ini` set `change_dir` to in its `[testenv:update-requirements]` section?', ini, 'tox.ini'), [6, 7]);
});

test('the reader reads the chunk that holds what the question names, cut to it', () => {
  const chunks = [
    { path: 'docs/cli.rst', text: 'Set the port with ``glanto run --port 8000``.' },
    { path: 'glanto/app.py', text: py.join('\n') },
    { path: 'glanto/cli.py', text: '@click.option("--port", default=5000, help="The port to bind to.")\ndef run(port): ...' },
  ];
  const q = 'What is `--port` for on the glanto `run` command?';
  assert.equal(namedChunk(q, chunks), 2);
  assert.deepEqual(namedWindow(q, chunks[2]), { lines: [0, 1], col: 44 }); // the help text's start
  const view = readerView(q, chunks, 1, { readerRerank: true, readerFocus: DEFAULT_FOCUS }, (c) => c);
  assert.equal(view[0].chunk, chunks[2]);
  assert.equal(view[0].text, chunks[2].text.split('\n')[0]);
  assert.equal(view[0].anchor, 'The port to bind to.")');
  // Without line windows the pack reads chunks as before.
  assert.equal(readerView(q, chunks, 1, { readerRerank: false, readerFocus: null }, (c) => c)[0].chunk, chunks[0]);
  // Read as prose, without the indentation the doc's lines share; the answer starts after the quotes.
  assert.deepEqual(readerWindow('What does `Glanto.after_spin` do?', py.join('\n'), DEFAULT_FOCUS, 'glanto/app.py'), {
    text: '"""Register a function to run after each spin\nof this glanto.',
    anchor: 'Register a function to run after each spin\nof this glanto.',
  });
  assert.deepEqual(readerWindow('What does `Glanto.reset` do?', py.join('\n')).anchor, 'Reset the glanto.'); // closing quotes left out
  // A question that names nothing has no anchor.
  assert.equal(readerWindow('When does the glanto spin?', py.join('\n')).anchor, undefined);
});

test('a question for the latest release reads the version of the first release heading', () => {
  const log = ['# Changelog for glalzeru', '', '## 3.15.8 (2023-12-30)', '', '- Internal refactoring.', '', '## 3.15.7 (2023-11-02)'];
  assert.deepEqual(latestRelease("What's the latest glalzeru release?", log, 'CHANGELOG.md'), { lines: [2, 3], col: 3, end: 9 });
  assert.deepEqual(readerWindow("What's the latest glalzeru release?", log.join('\n'), DEFAULT_FOCUS, 'CHANGELOG.md'), { text: log[2], anchor: '3.15.8', whole: true });
  assert.equal(readerWindow('glalzeru version?', log.join('\n'), DEFAULT_FOCUS, 'CHANGELOG.md').anchor, '3.15.8');
  // A question naming a version asks about that release; a file with no release heading has none.
  assert.equal(latestRelease('When was 3.15.7 released, the last release before 3.15.8?', log, 'CHANGELOG.md'), null);
  assert.equal(latestRelease('What is the current version?', ['version = "1.2.0"'], 'pyproject.toml'), null);
  assert.equal(latestRelease('Which port does glalzeru listen on?', log, 'CHANGELOG.md'), null);
});

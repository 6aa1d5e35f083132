import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { actionPin, buildBackend, ciMatrix, classBases, dependencySpec, installCommand, releaseDate, sectionOpening, toxCommands } from '../../src/core/readerForms';
import type { NamedWindow } from '../../src/core/readerNamed';
import { readerWindow } from '../../src/core/readerFocus';

/** The text a window picks out of `text` (its first line from `col` to `end`). */
function picked(w: NamedWindow | null, text: string): string | null {
  if (!w) return null;
  const lines = text.split('\n').slice(...w.lines);
  return w.end === undefined ? [lines[0].slice(w.col), ...lines.slice(1)].join('\n') : lines[0].slice(w.col, w.end);
}
const view = (path: string, text: string) => ({ path, text });
const find = (finder: typeof releaseDate, q: string, path: string, text: string) => picked(finder(q, text.split('\n'), view(path, text)), text);

const rstChanges = ['Version 1.2', '-----------', '', 'Released 2019-03-04, codename Brinda', '', '-   Fix the glanto.', '', 'Version 1.1', '-----------', '', 'Released 2018-11-20', ''].join('\n');
const history = ['2.0.0 / 2020-06-02', '==================', '', '  * Drop old spin', '', '1.9.3 / 2020-01-15', '==================', ''].join('\n');
const md = ['# Changelog', '', '## 3.1.0 (2024-02-29)', '', '- Faster', '', '## 3.0.9 (2023-12-01)', ''].join('\n');

test("a version's release date is read on its heading or in the lines under it, in RST, History.md and Markdown changelogs", () => {
  assert.equal(find(releaseDate, 'When was glanto 1.1 released?', 'CHANGES.rst', rstChanges), '2018-11-20');
  assert.equal(find(releaseDate, 'What is the release date of glanto 1.2 according to `CHANGES.rst`?', 'CHANGES.rst', rstChanges), '2019-03-04');
  assert.equal(find(releaseDate, 'On what date did version 1.9.3 come out?', 'History.md', history), '2020-01-15');
  assert.equal(find(releaseDate, 'When was 3.0.9 released?', 'CHANGES.md', md), '2023-12-01');
  // A version the chunk does not hold, no version named, or not a question of a date: nothing.
  assert.equal(find(releaseDate, 'When was glanto 4.0 released?', 'CHANGES.rst', rstChanges), null);
  assert.equal(find(releaseDate, 'When was glanto released?', 'CHANGES.rst', rstChanges), null);
  assert.equal(find(releaseDate, 'What changed in 1.2?', 'CHANGES.rst', rstChanges), null);
});

const workflow = ['jobs:', '  test:', '    strategy:', '      matrix:', "        os: [ubuntu-latest, windows-latest]  # both", "        python-version: ['3.12', '3.11']", '        node: [18, 20]', '    steps:', '      - uses: actions/setup-python@v5', '      - uses: actions/checkout@v4', ''].join('\n');

test("a CI matrix question reads the inline list of the key for what it asks (Python, Node.js, operating systems)", () => {
  assert.equal(find(ciMatrix, 'Which Python versions does the `ci.yml` CI workflow test on?', '.github/workflows/ci.yml', workflow), "['3.12', '3.11']");
  assert.equal(find(ciMatrix, 'What operating systems are in the test matrix?', '.github/workflows/ci.yml', workflow), '[ubuntu-latest, windows-latest]');
  assert.equal(find(ciMatrix, 'Which Node.js versions does the workflow test on?', '.github/workflows/ci.yml', workflow), '[18, 20]');
  assert.equal(find(ciMatrix, 'Which Python versions does glanto support?', '.github/workflows/ci.yml', workflow), null, 'not a CI question');
  assert.equal(find(ciMatrix, 'Which Python versions does the CI test on?', 'tox.ini', workflow), null, 'not a YAML file');
});

test("an action's pinned ref is read after its own `uses:`, not the neighbouring action's", () => {
  assert.equal(find(actionPin, 'Which version of `actions/checkout` does the `ci.yml` workflow use?', 'ci.yml', workflow), 'v4');
  assert.equal(find(actionPin, 'Which version of `actions/cache` does the workflow use?', 'ci.yml', workflow), null);
});

const tox = ['[tox]', 'envlist = py3, style', '', '[testenv]', 'commands = pytest -v {posargs}', '', '[testenv:style]', 'deps = pre-commit', 'skip_install = true', 'commands = pre-commit run --all-files', '', '[testenv:docs]', 'change_dir = docs', 'commands =', '    sphinx-build -W -b html . _build', ''].join('\n');

test("a tox environment's commands are read in its own section, on the next line when `commands =` is empty", () => {
  assert.equal(find(toxCommands, 'What does `tox -e style` execute?', 'tox.ini', tox), 'pre-commit run --all-files');
  assert.equal(find(toxCommands, 'What command does tox run in the `[testenv:docs]` environment?', 'tox.ini', tox), 'sphinx-build -W -b html . _build');
  assert.equal(find(toxCommands, 'What does tox set `change_dir` to in `[testenv:docs]`?', 'tox.ini', tox), null, 'a setting, not the commands');
});

const pyproject = ['[project]', 'requires-python = ">=3.8"', 'dependencies = [', '    "Brinda>=3.0.0",', '    "glanto-metadata>=3.6.0; python_version < \'3.10\'",', ']', '', '[build-system]', 'requires = ["flit_core<4"]', 'build-backend = "flit_core.buildapi"', ''].join('\n');

test("a dependency's version constraint is read without its environment marker; an assignment is not a constraint", () => {
  assert.equal(find(dependencySpec, 'What version constraint does pyproject.toml put on `glanto-metadata`?', 'pyproject.toml', pyproject), 'glanto-metadata>=3.6.0');
  assert.equal(find(dependencySpec, 'Which version of `brinda` does it depend on?', 'pyproject.toml', pyproject), 'Brinda>=3.0.0');
  assert.equal(find(dependencySpec, 'Which version of `flit_core` is required?', 'pyproject.toml', pyproject), 'flit_core<4');
  assert.equal(find(dependencySpec, 'Which Python versions does it declare in `requires-python`?', 'pyproject.toml', pyproject), null);
  assert.equal(find(dependencySpec, 'Which version of `pytest` does it depend on?', 'requirements.txt', 'pytest==8.1.1\nblack>=24\n'), 'pytest==8.1.1');
});

test("the build backend is read from pyproject.toml's `build-backend`", () => {
  assert.equal(find(buildBackend, 'Which build backend does glanto use?', 'pyproject.toml', pyproject), 'flit_core.buildapi');
  assert.equal(find(buildBackend, 'Which backend does glanto use?', 'pyproject.toml', pyproject), null);
});

test("a class's bases are read from its definition (Python parentheses, JavaScript extends)", () => {
  const py = 'class SpinError(Exception):\n    pass\n\nclass FormatSpin(ValueError, SpinError):\n    """Bad spin"""\n';
  assert.equal(find(classBases, 'What does `FormatSpin` subclass?', 'errors.py', py), 'ValueError, SpinError');
  assert.equal(find(classBases, 'Which base class does `errors.SpinError` inherit from?', 'errors.py', py), 'Exception');
  assert.equal(find(classBases, 'What is `Glanto` derived from?', 'glanto.js', 'class Glanto extends EventEmitter {\n}\n'), 'EventEmitter');
  assert.equal(find(classBases, 'What does `FormatSpin` do?', 'errors.py', py), null);
});

const readme = ['Glanto', '======', '', '.. image:: logo.png', '', 'Glanto spins objects into streams. It is', 'small.', '', 'Install', '-------', '', 'Install it from a checkout:', '', '.. code-block:: text', '', '    $ pip install build', "    $ pip install '.[test]'", '', 'Usage', '-----', '', '- a list, not prose', ''].join('\n');

test("a named section's opening sentence is read under its heading, past directives; a section that opens with a list has none", () => {
  assert.equal(find(sectionOpening, "How does the `README.rst` open its 'Glanto' section?", 'README.rst', readme), 'Glanto spins objects into streams. It is\nsmall.');
  assert.equal(find(sectionOpening, "What's the first sentence under 'Install'?", 'README.rst', readme), 'Install it from a checkout:');
  assert.equal(find(sectionOpening, "What does the 'Usage' section say first?", 'README.rst', readme), null);
  assert.equal(find(sectionOpening, "What does the 'Deploy' section say first?", 'README.rst', readme), null);
  const mdReadme = '# Spin\n\n## Quick start\n\nRun `spin` in a folder.\n';
  assert.equal(find(sectionOpening, "How does the README open its 'Quick start' section?", 'README.md', mdReadme), 'Run `spin` in a folder.');
});

test('an install command is read in the section the question names, the one naming what it installs', () => {
  assert.equal(find(installCommand, "What's the install command for glanto from a checkout (`.[test]`) shown under 'Install'?", 'README.rst', readme), "pip install '.[test]'");
  assert.equal(find(installCommand, "Which command does the 'Install' section give to install glanto?", 'README.rst', readme), 'pip install build');
  assert.equal(find(installCommand, 'How do I install the spin tool?', 'README.md', '## Start\n\n```console\n$ npm install -g spin-cli@2  # global\n```\n'), 'npm install -g spin-cli@2');
  assert.equal(find(installCommand, "How do I install it, per the 'Usage' section?", 'README.rst', readme), null, 'that section has no install command');
  assert.equal(find(installCommand, 'How do I install `glanto-extra`?', 'README.rst', readme), null, 'no command names it');
});

test('the reader is shown the line of a question of a known form, and its answer must start at the value', () => {
  const w = readerWindow('When was glanto 1.2 released?', rstChanges, undefined, 'CHANGES.rst');
  assert.equal(w.text, 'Released 2019-03-04, codename Brinda');
  assert.equal(w.anchor, '2019-03-04');
  assert.equal(w.whole, true, 'a date is all of the answer');
  const doc = readerWindow("How does the `README.rst` open its 'Glanto' section?", readme, undefined, 'README.rst');
  assert.equal(doc.whole, undefined, 'a paragraph: the model says where its sentence ends');
});

test('"what does X do" reads the sentence "The X service <does ...>" from its verb; an outage question reads what "If X stops responding, ..." says to do', async () => {
  const { whatItDoes, outageStep } = await import('../../src/core/readerForms');
  const notes = ['# glanto sync', '', '- The glanto service is served on port 3522.', '- glanto uses a request timeout of 20 seconds.', '- The glanto service batches uploaded images for the weekly digest. See the wiki.', '- If glanto stops responding, restart the dns resolver and watch the latency graph.', '- When brinda is down, page the on-call.'].join('\n');
  assert.equal(find(whatItDoes, 'What is the purpose of glanto?', 'notes.md', notes), 'batches uploaded images for the weekly digest');
  assert.equal(find(whatItDoes, 'Can you describe what glanto does?', 'notes.md', notes), 'batches uploaded images for the weekly digest');
  assert.equal(find(whatItDoes, 'What is the purpose of brinda?', 'notes.md', notes), null, 'another subject');
  assert.equal(find(outageStep, "What's the procedure when glanto is unresponsive?", 'notes.md', notes), 'restart the dns resolver and watch the latency graph');
  assert.equal(find(outageStep, 'What do I do when brinda is down?', 'notes.md', notes), 'page the on-call');
  assert.equal(find(outageStep, 'What port does glanto use?', 'notes.md', notes), null);
});

test('a config question in its own words reads the key whose words say the most of it (short forms, a word\'s start), never on a tie, and only in settings files', async () => {
  const { configValue } = await import('../../src/core/readerForms');
  const settings = ['"""Settings for glanto."""', '', 'RETRY_BACKOFF = "exponential"', 'SERVICE_NAME = "glanto"', 'MEMORY_LIMIT = "4736Mi"', 'RATE_LIMIT_PER_MINUTE = 1880', 'MAX_RETRIES = 10', 'BACKUP_TIME_UTC = "06:15"', ''].join('\n');
  const yaml = 'service: brinda\ndatabase: brinda-staging\ndb_host: cache-11.internal  # primary\n';
  assert.equal(find(configValue, "What's the retry limit configured for glanto?", 'glanto/settings.py', settings), '10');
  assert.equal(find(configValue, 'When is the glanto nightly backup taken (UTC)?', 'glanto/settings.py', settings), '06:15');
  assert.equal(find(configValue, 'Where does brinda keep its data (database name)?', 'brinda.yaml', yaml), 'brinda-staging');
  assert.equal(find(configValue, "What's the DB hostname in brinda's config?", 'brinda.yaml', yaml), 'cache-11.internal');
  assert.equal(find(configValue, 'How much RAM is a single glanto pod allowed?', 'glanto/settings.py', settings), null, 'no key says it');
  assert.equal(find(configValue, 'What is the limit for glanto?', 'glanto/settings.py', settings), null, 'two keys tie');
  assert.equal(find(configValue, "What's the retry limit configured for glanto?", 'glanto/worker.py', settings), null, 'not a settings file');
  assert.equal(find(configValue, 'What is `MAX_RETRIES` set to?', 'glanto/settings.py', settings), null, 'a quoted name is the config-key window');
});

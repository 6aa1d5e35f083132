import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_FOCUS, focusLine, focusText, headingLevels, readerWindow } from '../../src/core/readerFocus';

const win = { above: 1, below: 2, minShare: 0.7 };

const changelog = [
  'Version 2.2.3',
  '-------------',
  'Released 2022-08-20',
  '- Fix the loader.',
  '',
  'Version 2.2.2',
  '-------------',
  'Released 2022-08-08',
  '- Fix a typo.',
  '',
  'Version 2.2.1',
  '-------------',
  'Released 2022-08-03',
  '- Fix a regression.',
];

test('the reader sees the lines around the one that names what the question names', () => {
  const text = changelog.join('\n');
  assert.equal(focusLine('When was glanto 2.2.2 released?', changelog, 0.5), 5);
  // The version holds 61 % of the question's weight, under the shipped share; but a version the
  // question names, on one line only, stands out on its own.
  assert.equal(focusLine('When was glanto 2.2.2 released?', changelog, 0.7), 5);
  const shown = focusText('When was glanto 2.2.2 released?', text, { above: 3, below: 10, minShare: 0.7 });
  // The release's own section: from its heading to the next release's heading.
  assert.equal(shown, changelog.slice(5, 10).join('\n'));
  // The neighbouring releases' dates, the reader's usual wrong answer, are not shown.
  assert.ok(!shown.includes('2022-08-03') && !shown.includes('2022-08-20'));
});

test('heading levels: underlined titles, INI/TOML sections, and # headings in Markdown only', () => {
  const lines = ['4.7.3 / 2014-08-04', '==================', '', '  * deps: send@0.7.3', '[testenv:style]', 'commands = x', '### Install', 'text', '---', 'more', '~~~~', '"""'];
  assert.deepEqual(headingLevels(lines, false), [1, 0, 0, 0, 1, 0, 0, 2, 0, 3, 0, 0]);
  assert.deepEqual(headingLevels(lines, true), [1, 0, 0, 0, 1, 0, 3, 2, 0, 3, 0, 0]);
});

test("the window keeps to the focus line's section: the previous section's tail and the next section are cut", () => {
  const history = [
    '  * deps: serve-static@~1.4.4',
    '    - deps: send@0.7.4',
    '',
    '4.7.3 / 2014-08-04',
    '==================',
    '',
    '  * deps: send@0.7.3',
    '    - Fix incorrect 403 on Windows',
    '',
    '4.7.2 / 2014-07-27',
    '==================',
    '',
    '  * deps: send@0.7.2',
    '  * deps: serve-static@~1.4.2',
  ];
  const shown = focusText('On what date did version 4.7.3 come out?', history.join('\n'), DEFAULT_FOCUS, 'History.md');
  assert.equal(shown, history.slice(3, 9).join('\n'));
  // A heading straight below a heading (a section with no line of its own) does not end the window.
  const nested = ['intro', 'more', 'x', 'y', '## Usage', '### Install', 'pip install glanto', 'z', 'w', '## Other', 'q'];
  assert.equal(focusText('What does the `Usage` section say?', nested.join('\n'), { above: 3, below: 10, minShare: 0.7 }, 'README.md'), nested.slice(4, 9).join('\n'));
  // A subsection does not end its section: the title's window runs on through `## Key facts`.
  const runbook = ['# Runbook: glanto', '', '## Key facts', '', '- glanto holds 244 connections.', '- When glanto is down, restart it.', '', '## Restarting', '', '1. Drain traffic.', '# Other'];
  assert.equal(focusText('What is the procedure when glanto is down?', runbook.join('\n'), { above: 1, below: 20, minShare: 0.6 }, 'glanto.md'), runbook.slice(0, 10).join('\n'));
  // In code, # lines are comments, not headings: nothing is cut at them.
  const code = ['import os', 'x = 1', 'y = 2', 'def run_glanto():', '    # step one', '    a = 1', '# helper', 'def other():', '    pass', 'z = 3', 'w = 4'];
  assert.equal(focusText('What does `run_glanto` do?', code.join('\n'), { above: 1, below: 4, minShare: 0.7 }, 'glanto.py'), code.slice(2, 8).join('\n'));
});

test('nothing is cut when no line stands out or the chunk is short', () => {
  const text = changelog.join('\n');
  // The question's words spread over several lines: none holds the share asked.
  assert.equal(focusText('Which release fixed a typo and a regression?', text, win), text);
  assert.equal(focusText('What is the meaning of life?', text, win), text);
  const short = changelog.slice(0, 4).join('\n');
  assert.equal(focusText('When was 2.2.3 released?', short, win), short);
});

test('a backticked name outweighs the question\'s plain words', () => {
  const lines = ['port: 8431', 'replicas: 3', 'host: replicas.internal', 'timeout: 30', 'retries: 5', 'owner: glanto'];
  assert.equal(focusLine('How many replicas does the `timeout` key allow?', lines, 0.5), 3);
});

test('a comment block right above the line is read whole (JSDoc describes the function below it)', () => {
  const lines = [
    "'use strict';",
    '',
    '/**',
    ' * Create a glanto application.',
    ' *',
    ' * @return {Function}',
    ' * @api public',
    ' */',
    '',
    'function createApplication() {',
    '  var app = function(req, res, next) {',
    '    app.handle(req, res, next);',
    '  };',
    '  return app;',
    '}',
  ];
  const shown = focusText('What does `createApplication()` return?', lines.join('\n'), { above: 1, below: 2, minShare: 0.7 });
  assert.equal(shown, lines.slice(2, 12).join('\n'));
  // Asked what it does, the reader reads its description alone (readerNamed.ts), and the answer must start where it starts.
  assert.deepEqual(readerWindow('Briefly, what does `createApplication()` do?', lines.join('\n')), { text: '* Create a glanto application.', anchor: 'Create a glanto application.' });
});

test('the shipped window is the one chosen on real-dev', () => {
  assert.deepEqual(DEFAULT_FOCUS, { above: 3, below: 10, minShare: 0.7 });
});

test('a version the question names, on one line only, is the focus line even when other lines hold more of its words', () => {
  const lines = ['3.13 (2018-07-05)', '-----------------', '', '* Resolved issues around PyYAML working in Python 3.7.', '', '3.10 (2011-05-30)', '-----------------', '', '* Do not build bindings on PyPy.'];
  assert.equal(focusLine('When was PyYAML 3.10 released?', lines, 0.7), 5);
  assert.equal(focusText('When was PyYAML 3.10 released?', lines.join('\n'), DEFAULT_FOCUS, 'CHANGES'), lines.slice(5).join('\n'));
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_FOCUS, focusLine, focusText } from '../../src/core/readerFocus';

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
  // The version holds 61 % of the question's weight: under the shipped share nothing would be cut.
  assert.equal(focusLine('When was glanto 2.2.2 released?', changelog, 0.7), -1);
  const shown = focusText('When was glanto 2.2.2 released?', text, { above: 1, below: 3, minShare: 0.5 });
  assert.equal(shown, changelog.slice(4, 9).join('\n'));
  // The neighbouring releases' dates, the reader's usual wrong answer, are not shown.
  assert.ok(!shown.includes('2022-08-03') && !shown.includes('2022-08-20'));
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
  const shown = focusText('Briefly, what does `createApplication()` do?', lines.join('\n'), { above: 1, below: 2, minShare: 0.7 });
  assert.equal(shown, lines.slice(2, 12).join('\n'));
});

test('the shipped window is the one chosen on real-dev', () => {
  assert.deepEqual(DEFAULT_FOCUS, { above: 3, below: 10, minShare: 0.7 });
});

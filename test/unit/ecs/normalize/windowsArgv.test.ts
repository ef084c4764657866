/**
 * CommandLineToArgvW's rules (Wine's implementation, which matches Windows). Every command line in
 * the shared datasets is also checked against its ECS conversion by the equivalence test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLineToArgv } from '../../../../src/ecs/normalize/windowsArgv.js';

const cases: [string, string[]][] = [
  // Microsoft's table of examples ("Parsing C++ command-line arguments"), behind a program name.
  ['prog "abc" d e', ['prog', 'abc', 'd', 'e']],
  ['prog a\\\\b d"e f"g h', ['prog', 'a\\\\b', 'de fg', 'h']],
  ['prog a\\\\\\"b c d', ['prog', 'a\\"b', 'c', 'd']],
  ['prog a\\\\\\\\"b c" d e', ['prog', 'a\\\\b c', 'd', 'e']],
  // Inside quotes, a run of quotes counts modulo 3: `""` closes, the third is a literal quote.
  ['prog a"b"" c d', ['prog', 'ab"', 'c', 'd']],
  ['prog """a b"""', ['prog', '"a', 'b"']],
  ['prog ""', ['prog', '']],
  // argv[0]: quoted up to the next quote with no escapes, else up to the first blank.
  ['"C:\\Program Files\\x.exe" /a', ['C:\\Program Files\\x.exe', '/a']],
  ['"C:\\dir\\" next', ['C:\\dir\\', 'next']],
  ['C:\\dir\\"a b" c', ['C:\\dir\\"a', 'b c']],
  ['"unterminated program', ['unterminated program']],
  // Blanks: tabs and spaces separate; trailing ones add nothing.
  ['\\SystemRoot\\System32\\smss.exe 000000fc 00000088 ', ['\\SystemRoot\\System32\\smss.exe', '000000fc', '00000088']],
  ['a\tb \t c', ['a', 'b', 'c']],
  ['single', ['single']],
  // Windows gives a line that starts with a blank an empty program name.
  [' -c -s 0', ['', '-c', '-s', '0']],
  ['', []],
  // Backslashes not followed by a quote are literal, also at the end.
  ['prog C:\\path\\ x\\', ['prog', 'C:\\path\\', 'x\\']],
  ['prog "C:\\path\\\\" next', ['prog', 'C:\\path\\', 'next']],
];

test('CommandLineToArgvW cases', () => {
  for (const [line, argv] of cases) assert.deepEqual(commandLineToArgv(line), argv, JSON.stringify(line));
});

test('real command lines from the OTRF recordings', () => {
  assert.deepEqual(
    commandLineToArgv(
      '"C:\\Program Files\\Common Files\\Microsoft Shared\\ClickToRun\\OfficeC2RClient.exe" /frequentupdate SCHEDULEDTASK displaylevel=False',
    ),
    [
      'C:\\Program Files\\Common Files\\Microsoft Shared\\ClickToRun\\OfficeC2RClient.exe',
      '/frequentupdate',
      'SCHEDULEDTASK',
      'displaylevel=False',
    ],
  );
  assert.deepEqual(commandLineToArgv('C:\\windows\\system32\\svchost.exe -k netsvcs -p -s Schedule'), [
    'C:\\windows\\system32\\svchost.exe',
    '-k',
    'netsvcs',
    '-p',
    '-s',
    'Schedule',
  ]);
  // Two blanks before -enc's argument are one separator.
  assert.deepEqual(commandLineToArgv('cmd.exe /C powershell -enc  SQBm').slice(-2), ['-enc', 'SQBm']);
});

test('linear in the length of the line', () => {
  const long = `prog ${'\\'.repeat(200_000)}" ${'a"'.repeat(100_000)}`;
  const t0 = performance.now();
  commandLineToArgv(long);
  assert.ok(performance.now() - t0 < 2000);
});

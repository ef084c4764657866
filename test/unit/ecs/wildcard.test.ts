import { test } from 'node:test';
import assert from 'node:assert/strict';
import { field } from '../../../src/ecs/fields.js';
import { compileWildcard, compileWildcardList, keywordMatches } from '../../../src/ecs/wildcard.js';

const m = (pattern: string, value: string): boolean => compileWildcard(pattern)(value);

test('no wildcard: case-insensitive equality of the lower-cased forms', () => {
  assert.equal(m('services.exe', 'services.exe'), true);
  assert.equal(m('services.exe', 'SERVICES.EXE'), true);
  assert.equal(m('SERVICES.EXE', 'Services.Exe'), true);
  assert.equal(m('services.exe', 'services.exe '), false);
  assert.equal(m('services.exe', 'xservices.exe'), false);
  assert.equal(m('services.exe', ''), false);
  assert.equal(m('', ''), true);
});

test('lower-casing is not normalisation: homoglyphs and fullwidth letters are other characters', () => {
  assert.equal(m('services.exe', 'serv\u0456ces.exe'), false, 'Cyrillic і (U+0456)');
  assert.equal(m('services.exe', 'SERV\u0406CES.EXE'), false, 'Cyrillic І (U+0406)');
  assert.equal(m('services.exe', '\uff53ervices.exe'), false, 'fullwidth ｓ');
  assert.equal(m('services.exe', 'services.exe\u0000'), false);
  // But non-ASCII letters still compare case-insensitively with themselves.
  assert.equal(m('ÄBC', 'äbc'), true);
  assert.equal(m('\u0406', '\u0456'), true, 'Cyrillic І and і are one letter in two cases');
});

test('`*` matches any run of characters, backslashes included (it is not path-aware)', () => {
  const programFiles = compileWildcard('?:\\Program Files\\*.exe');
  assert.equal(programFiles('C:\\Program Files\\a.exe'), true);
  assert.equal(programFiles('C:\\Program Files\\a\\b\\c.exe'), true, 'any depth');
  assert.equal(programFiles('c:\\program files\\VENDOR\\X.EXE'), true);
  assert.equal(programFiles('C:\\Program Files\\.exe'), true, '`*` may be empty');
  assert.equal(programFiles('C:\\Program Files\\a.exe.bak'), false, 'anchored at the end');
  assert.equal(programFiles('C:\\Program Files (x86)\\a.exe'), false, '`\\` after "Files" is literal');
  assert.equal(m('*', ''), true);
  assert.equal(m('*', '\\\\server\\share'), true);
  assert.equal(m('a*', 'a'), true);
  assert.equal(m('*a', 'a'), true);
  assert.equal(m('a*a', 'a'), false, 'the anchored ends may not overlap');
  assert.equal(m('a*a', 'aa'), true);
  assert.equal(m('a**b', 'ab'), true);
  assert.equal(m('*b*', 'abc'), true);
  assert.equal(m('*b*', 'ac'), false);
  assert.equal(m('\\\\*', '\\\\host'), true, 'an argument starting with two backslashes');
  assert.equal(m('\\\\*', '\\host'), false);
});

test('`?` matches exactly one character', () => {
  const drive = compileWildcard('?:\\Windows\\PSEXESVC.EXE');
  assert.equal(drive('C:\\Windows\\PSEXESVC.EXE'), true);
  assert.equal(drive('d:\\windows\\psexesvc.exe'), true);
  assert.equal(drive(':\\Windows\\PSEXESVC.EXE'), false, 'zero characters');
  assert.equal(drive('CC:\\Windows\\PSEXESVC.EXE'), false, 'two characters');
  assert.equal(m('doc?', 'docs'), true);
  assert.equal(m('doc?', 'doc'), false);
  assert.equal(m('?', ''), false);
  assert.equal(m('??', 'a'), false);
  assert.equal(m('?', '\\'), true);
  assert.equal(m('?', '*'), true, 'a `*` in the value is an ordinary character');
  assert.equal(m('?', '?'), true);
  // A character is a code point: an astral character is one, not two UTF-16 units.
  assert.equal(m('?', '😀'), true);
  assert.equal(m('??', '😀'), false);
  assert.equal(m('a?c', 'a😀c'), true);
  assert.equal(m('*?😀', 'x😀😀'), true);
});

test('`*` and `?` together', () => {
  assert.equal(m('?:\\Windows\\AdminArsenal\\PDQ*.exe', 'C:\\Windows\\AdminArsenal\\PDQDeployRunner-1.exe'), true);
  assert.equal(m('?:\\Windows\\AdminArsenal\\PDQ*.exe', 'C:\\Windows\\AdminArsenal\\sub\\PDQ.exe'), false);
  assert.equal(m('?:\\Windows\\AdminArsenal\\PDQ*.exe', 'C:\\Windows\\AdminArsenal\\PDQ\\x.exe'), true);
  assert.equal(m('*?', ''), false);
  assert.equal(m('*?', 'a'), true);
  assert.equal(m('?*?', 'a'), false);
  assert.equal(m('a*?b*c', 'a-b-c'), true);
  assert.equal(m('a*?b*c', 'abc'), false);
});

test('a list matches when any pattern does (EQL `field : ("a", "b")`)', () => {
  const inbound = compileWildcardList(['incoming', 'ingress']);
  assert.equal(inbound('incoming'), true);
  assert.equal(inbound('INGRESS'), true);
  assert.equal(inbound('inbound'), false);
  assert.equal(inbound('egress'), false);
  const mixed = compileWildcardList(['exact', 'pre*', '?x']);
  for (const v of ['EXACT', 'prefix', 'PRE', 'ax']) assert.equal(mixed(v), true, v);
  for (const v of ['exact2', 'xpre', 'abx', '']) assert.equal(mixed(v), false, v);
  assert.equal(compileWildcardList([])('anything'), false);
});

test('keywordMatches: any element of a keyword field; missing never matches', () => {
  const name = field('process.name');
  const svc = compileWildcard('services.exe');
  assert.equal(keywordMatches({ process: { name: 'Services.exe' } }, name, svc), true);
  assert.equal(keywordMatches({ 'process.name': ['cmd.exe', 'SERVICES.EXE'] }, name, svc), true);
  assert.equal(keywordMatches({ process: { name: ['cmd.exe'] } }, name, svc), false);
  assert.equal(keywordMatches({ process: {} }, name, svc), false);
  assert.equal(keywordMatches({ process: { name: null } }, name, svc), false);
  assert.equal(keywordMatches({ process: { name: { nested: 'services.exe' } } }, name, svc), false);
  assert.equal(keywordMatches({ process: { name: 42 } }, name, compileWildcard('4?')), true, 'numbers as keywords');
});

/** Reference semantics for small inputs: the textbook dynamic programme over code points. */
function reference(pattern: string, value: string): boolean {
  const p = Array.from(pattern.toLowerCase());
  const v = Array.from(value.toLowerCase());
  let row = new Array<boolean>(v.length + 1).fill(false);
  row[0] = true;
  for (const pc of p) {
    const next = new Array<boolean>(v.length + 1).fill(false);
    if (pc === '*') {
      next[0] = row[0]!;
      for (let j = 1; j <= v.length; j++) next[j] = row[j]! || next[j - 1]!;
    } else {
      for (let j = 1; j <= v.length; j++) next[j] = row[j - 1]! && (pc === '?' || pc === v[j - 1]);
    }
    row = next;
  }
  return row[v.length]!;
}

test('agrees with the reference semantics on many random small patterns and values', () => {
  const rand = mulberry32(12345);
  const pick = (alphabet: string[], max: number): string =>
    Array.from({ length: rand(max + 1) }, () => alphabet[rand(alphabet.length)]).join('');
  const patternChars = ['a', 'B', '\\', '*', '*', '?', '😀'];
  const valueChars = ['a', 'A', 'b', '\\', '*', '?', '😀'];
  for (let i = 0; i < 20000; i++) {
    const p = pick(patternChars, 7);
    const v = pick(valueChars, 9);
    assert.equal(m(p, v), reference(p, v), `${JSON.stringify(p)} : ${JSON.stringify(v)}`);
  }
});

test('many `*` against a long value stays linear (a guard against backtracking, not a benchmark)', () => {
  const long = 'a'.repeat(100_000);
  const cases: [string, string, boolean][] = [
    ['*a'.repeat(100) + '*b', long, false],
    ['a*'.repeat(100) + 'b', long, false],
    ['*a'.repeat(100) + '*b*', long, false],
    ['*?a'.repeat(100) + '*b*', long, false],
    ['*'.repeat(100), long, true],
    ['*a'.repeat(100) + '*', long, true],
    ['*a'.repeat(100) + '*', long + 'b', true],
    ['*a?'.repeat(50) + '*b', long + 'b', true],
    ['*aaaaaaaaab'.repeat(20), long, false],
    ['*a*b', '*'.repeat(100_000) + 'ab', true],
  ];
  for (const [pattern, value, expected] of cases) {
    const matcher = compileWildcard(pattern);
    const start = performance.now();
    assert.equal(matcher(value), expected, pattern.slice(0, 30));
    const ms = performance.now() - start;
    assert.ok(ms < 1000, `${pattern.slice(0, 30)}… took ${ms.toFixed(0)} ms`);
  }
});

/** A small seeded PRNG (mulberry32): rand(n) is an integer in [0, n). */
function mulberry32(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

/**
 * The Dockerfile, without a Docker engine: two linters from npm (dockerfile-utils, the validator of
 * VS Code's Docker support, for syntax; dockerfilelint for practices) and the properties the issue
 * asks for, read from the instructions. That the runtime stage's files run picket is checked by
 * building the same layout by hand (see the Dockerfile's comments) and by CI on a Docker machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT, TOOLS_DIR, need, readText, run, toolRequire, toolsInstalled } from './deployTools.js';

const text = readText('Dockerfile');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** The instructions, continuation lines joined, comments dropped. */
function instructions(source: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i]!;
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) l = l.slice(0, -1) + ' ' + lines[++i]!.trim();
    const m = /^\s*(\w+)\s+(.*)$/.exec(l);
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

const all = instructions(text);
const froms = all.filter((i) => i.op === 'FROM');
const runtimeStart = all.indexOf(froms.at(-1)!);
const runtime = all.slice(runtimeStart);

test('dockerfile-utils: no syntax error or warning', (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (dockerfile-utils)')) return;
  const diagnostics = toolRequire('dockerfile-utils').validate(text) as { message: string; range: any }[];
  assert.deepEqual(
    diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
    [],
  );
});

test('dockerfilelint: no issue', async (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (dockerfilelint)')) return;
  const bin = join(TOOLS_DIR, 'node_modules', 'dockerfilelint', 'bin', 'dockerfilelint');
  const res = await run(process.execPath, [bin, '-o', 'json', join(REPO_ROOT, 'Dockerfile')]);
  const report = JSON.parse(res.stdout);
  assert.equal(report.totalIssues, 0, JSON.stringify(report.files?.[0]?.issues, null, 2));
  assert.equal(res.code, 0);
});

test('multi-stage, both stages on the same pinned slim Node LTS image', () => {
  assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
  const images = froms.map((f) => f.args.split(/\s+/)[0]!);
  for (const image of images) {
    assert.match(image, /^node:\d+-[a-z]+-slim$/, `${image}: a Node major version on a slim Debian, not latest`);
    const major = Number(/^node:(\d+)/.exec(image)![1]);
    assert.ok(major >= 22 && major % 2 === 0, `${image}: an LTS line (even major) that is still supported`);
  }
  assert.equal(new Set(images).size, 1, 'node_modules is built for the Node that runs it');
  assert.match(froms.at(-1)!.args, /\bAS runtime$/i);
});

test('the build stage installs exactly the lockfile and drops the dev dependencies', () => {
  const build = all.slice(0, runtimeStart);
  const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(
    runs.some((r) => /\bnpm ci\b/.test(r)),
    'npm ci (the lockfile, nothing else)',
  );
  assert.ok(
    runs.some((r) => /\bnpm run build\b/.test(r)),
    'tsc, as the prepare script does',
  );
  assert.ok(
    runs.some((r) => /\bnpm prune --omit=dev\b/.test(r)),
    'no dev dependencies in the image',
  );
});

test('the runtime stage: only what picket needs, non-root, node as PID 1', () => {
  const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
  const targets = copies.map((c) => c.split(/\s+/).at(-1));
  assert.deepEqual(targets.sort(), ['./bin', './dist/src', './node_modules', './package.json', './schemas']);
  for (const c of copies) assert.match(c, /--from=build/, `${c}: from the build stage, not the context`);
  assert.ok(!runtime.some((i) => i.op === 'RUN' && /\bnpm\b/.test(i.args)), 'no npm at runtime');
  const user = runtime.filter((i) => i.op === 'USER').at(-1);
  assert.ok(user, 'a USER');
  assert.match(user.args, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user, so that runAsNonRoot can verify it');
  assert.equal(user.args.split(':')[0], '1000', "the node image's node user, as the Helm chart's runAsUser");
  const entrypoint = runtime.find((i) => i.op === 'ENTRYPOINT');
  assert.ok(entrypoint, 'an ENTRYPOINT');
  const argv = JSON.parse(entrypoint.args) as string[];
  assert.equal(argv[0], 'node', 'exec form with node itself: SIGTERM reaches picket (no npm, no shell)');
  assert.match(argv[1]!, /bin\/picket$/);
  const cmd = runtime.find((i) => i.op === 'CMD');
  assert.deepEqual(JSON.parse(cmd!.args), ['run']);
  assert.ok(
    runtime.some((i) => i.op === 'EXPOSE' && i.args === '9464'),
    'the metrics port',
  );
  assert.ok(runtime.some((i) => i.op === 'ENV' && /NODE_ENV=production/.test(i.args)));
  const pkg = JSON.parse(readText('package.json')) as { version: string };
  const version = runtime.find((i) => i.op === 'ARG' && i.args.startsWith('VERSION='));
  assert.equal(version?.args, `VERSION=${pkg.version}`, 'the image label follows package.json (bump both)');
});

test('.dockerignore keeps the context to what the build copies', () => {
  const rules = readText('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.equal(rules[0], '*', 'everything is ignored by default (no .git, node_modules, .cache, secrets)');
  const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, ''));
  const copied = all
    .slice(0, runtimeStart)
    .filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .slice(0, -1)
        .filter((a) => !a.startsWith('--')),
    );
  assert.deepEqual([...new Set(copied)].sort(), allowed.sort(), 'the build copies exactly what .dockerignore lets in');
});

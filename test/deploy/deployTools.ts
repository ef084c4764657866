/**
 * What the deploy tests share: where the chart and the tools are, running helm, loading the npm
 * validators of deploy/tools (installed by scripts/install-deploy-tools.sh, not by the root npm ci).
 *
 * A missing tool fails the test in CI (CI=true) and skips it elsewhere, saying how to install it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../support/datasets.js';

export { REPO_ROOT };
export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'picket');
export const TOOLS_DIR = join(REPO_ROOT, 'deploy', 'tools');
export const K8S_STRUCTURE_FILE = join(REPO_ROOT, '.cache', 'deploy-tools', 'k8s-structure.yaml');
export const INSTALL_HINT = 'run scripts/install-deploy-tools.sh';

/** The CI values files of the chart, by file name. */
export const CI_VALUES = readdirSync(join(CHART_DIR, 'ci'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** An executable in .cache/bin or on PATH. */
export function findTool(name: string, extra: string[] = []): string | undefined {
  const dirs = [
    join(REPO_ROOT, '.cache', 'bin'),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    ...extra,
  ];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

/**
 * Skips the test (or fails it in CI) when `what` is missing. Returns true when the test may go on.
 */
export function need(t: TestContext, present: unknown, what: string): boolean {
  if (present) return true;
  const message = `${what} is not installed: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return false;
}

export const helmPath = findTool('helm');
export const promtoolPath = findTool('promtool', ['/usr/bin']);
export const toolsInstalled = existsSync(join(TOOLS_DIR, 'node_modules', '.installed-lock'));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export const RELEASE = 'picket-ci';
export const NAMESPACE = 'security';

/** `helm template` of the chart; `valuesFile` is a file name in ci/ or undefined for the defaults. */
export async function helmTemplate(valuesFile?: string, extra: string[] = []): Promise<RunResult> {
  const args = ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE];
  if (valuesFile) args.push('-f', join(CHART_DIR, 'ci', valuesFile));
  return run(helmPath!, [...args, ...extra]);
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/** Parses a multi-document YAML stream strictly (duplicate keys are errors), dropping empty documents. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Manifest | null;
    if (value) out.push(value);
  }
  return out;
}

/** Renders and parses; fails the test on a render error. */
export async function render(valuesFile?: string, extra: string[] = []): Promise<Manifest[]> {
  const res = await helmTemplate(valuesFile, extra);
  if (res.code !== 0) throw new Error(`helm template ${valuesFile ?? '(defaults)'} failed:\n${res.stderr}`);
  return parseManifests(res.stdout);
}

const toolsRequire = createRequire(join(TOOLS_DIR, 'package.json'));

/** A CommonJS package of deploy/tools. */
export function toolRequire(name: string): any {
  return toolsRequire(name);
}

/** An ES module of deploy/tools, by its path under node_modules. */
export async function toolImport(path: string): Promise<any> {
  return import(pathToFileURL(join(TOOLS_DIR, 'node_modules', path)).href);
}

export function readText(...parts: string[]): string {
  return readFileSync(join(REPO_ROOT, ...parts), 'utf8');
}

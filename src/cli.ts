/**
 * The `picket` command. Each subcommand is a thin shell around the engine (replay) or the Kafka
 * pipeline (run, demo). Exit codes: 0 it ran; 1 it failed while running; 2 bad usage or configuration.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { alertToJson, type Alert } from './alerts/alert.js';
import { eventId, type EcsEvent } from './ecs/event.js';
import { explainAlert, explainEvent } from './tuning/explain.js';
import type { Decision } from './tuning/tuner.js';
import { EMPTY_TUNING, loadTuningFile, type Tuning } from './tuning/tuningConfig.js';
import { ConfigError, configReference, loadConfig, redactedConfig, type PicketConfig } from './config.js';
import { DETECTION_KEYS, detectionOptionsFrom } from './detectors/registry.js';
import { INPUT_FORMATS, isInputFormat } from './ecs/normalize/index.js';
import { formatSummary, replayFile } from './replay/replay.js';

const USAGE = `picket: lateral-movement and RPC detections on a stream of ECS events

Usage:
  picket run [--config FILE]            consume the input topics and publish alerts (Kafka)
  picket replay [--input FORMAT] [--detections LIST] [--config FILE] [--tuning FILE]
                [--explain [--event ID]] [--rdp-state FILE] FILE...
                                        replay files (plain, .gz, or - for stdin); alerts to stdout.
                                        FORMAT: auto (default: recognised per document), ecs, zeek
                                        (JSON or TSV logs), winlogbeat (raw Sysmon/Security), nxlog.
                                        --config: detection settings as for run (and the environment).
                                        --tuning FILE: exceptions, suppression, per-rule settings
                                        (default: tuning.file). --explain [--event ID]: print why each
                                        alert was published or stopped instead of the alerts
                                        --rdp-state: the RDP spike models are loaded from FILE when it
                                        exists and saved to it after each input file
  picket demo [--duration S]            start a local Kafka, stream sample traffic with attacks, print alerts
  picket config [--config FILE] [--reference]
                                        print the effective configuration, or the reference of all settings
  picket help | --help                  this text
  picket version | --version

Configuration: defaults, then --config FILE (YAML), then environment variables (KAFKA_BROKERS,
PICKET_INPUT_TOPICS, ...). "picket config --reference" lists every setting.
Detections: ${DETECTION_KEYS.join(', ')}.
`;

class UsageError extends Error {}

function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      case 'version':
      case '--version':
        process.stdout.write(`picket ${version()}\n`);
        return 0;
      case 'replay':
        return await replayCommand(rest);
      case 'run': {
        const { runCommand } = await import('./commands/run.js');
        return await runCommand(configFrom(rest));
      }
      case 'demo': {
        const { demoCommand } = await import('./commands/demo.js');
        return await demoCommand(rest);
      }
      case 'config':
        return configCommand(rest);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`picket: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`picket: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`picket: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

function configFrom(args: string[]): PicketConfig {
  const { values, positionals } = parse(args, { config: { type: 'string', short: 'c' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return loadConfig({ file: values.config as string | undefined });
}

function configCommand(args: string[]): number {
  const { values, positionals } = parse(args, {
    config: { type: 'string', short: 'c' },
    reference: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.reference === true) {
    process.stdout.write(configReference() + '\n');
    return 0;
  }
  const config = loadConfig({ file: values.config as string | undefined });
  process.stdout.write(JSON.stringify(redactedConfig(config), null, 2) + '\n');
  return 0;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    input: { type: 'string', default: 'auto' },
    detections: { type: 'string' },
    'rdp-state': { type: 'string' },
    config: { type: 'string' },
    tuning: { type: 'string' },
    explain: { type: 'boolean' },
    event: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const format = values.input;
  if (!isInputFormat(format)) {
    throw new UsageError(`--input ${String(format)}: supported formats: ${INPUT_FORMATS.join(', ')}`);
  }
  if (positionals.length === 0) throw new UsageError('replay needs at least one FILE (or - for stdin)');
  let detections: string[] | undefined;
  if (typeof values.detections === 'string') {
    detections = values.detections.split(',').map((s) => s.trim());
    const unknown = detections.filter((d) => !DETECTION_KEYS.includes(d));
    if (unknown.length > 0) throw new UsageError(`--detections: unknown ${unknown.join(', ')}`);
  }
  // The detections' settings (bucket span, clock skew, state bounds) come from the configuration,
  // as in `run`; the Kafka settings are not used.
  const config = loadConfig({ file: values.config as string | undefined });
  detections ??= config.detections.enabled;
  const tuningFile = typeof values.tuning === 'string' ? values.tuning : config.tuning.file;
  let tuning: Tuning | undefined;
  if (tuningFile !== '') {
    try {
      tuning = loadTuningFile(tuningFile);
    } catch (err) {
      throw new ConfigError(
        typeof values.tuning === 'string' ? '--tuning' : 'tuning.file',
        'configuration',
        (err as Error).message,
      );
    }
  }
  if (values.event !== undefined && values.explain !== true) throw new UsageError('--event needs --explain');
  const explain =
    values.explain === true
      ? explainer(tuning ?? EMPTY_TUNING, typeof values.event === 'string' ? values.event : undefined)
      : undefined;
  for (const file of positionals) {
    if (file === '-') continue;
    if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
    if (!statSync(file).isFile()) throw new UsageError(`${file}: not a file`);
  }
  const stdout = process.stdout;
  const progress = process.stderr.isTTY === true && values.quiet !== true;
  for (const file of positionals) {
    const result = await replayFile(file, {
      format,
      detections,
      detectionOptions: detectionOptionsFrom(config),
      ...(typeof values['rdp-state'] === 'string' ? { rdpStateFile: values['rdp-state'] } : {}),
      ...(tuning !== undefined ? { tuning } : {}),
      ...(explain !== undefined ? { onEvent: explain.onEvent, onDecision: explain.onDecision } : {}),
      onAlert: async (alert) => {
        if (explain !== undefined) return; // --explain prints explanations instead of documents
        if (!stdout.write(alertToJson(alert, Date.now()) + '\n')) await once(stdout, 'drain');
      },
      ...(progress
        ? {
            onProgress: (read: number, total: number, stats: { events: number }) => {
              const pct = total > 0 ? ` ${Math.min(100, Math.round((read / total) * 100))}%` : '';
              process.stderr.write(`\r\x1b[2K  ${file}:${pct} ${stats.events} events`);
            },
          }
        : {}),
    });
    if (progress) process.stderr.write('\r\x1b[2K');
    if (values.quiet !== true) process.stderr.write(formatSummary(result) + '\n');
  }
  return 0;
}

/**
 * `replay --explain [--event ID]`: for every alert the detections raise, its events and the
 * tuning's decision with every exception condition tested (explainAlert); with --event, only the
 * alerts built from that event, and that event's exception conditions when it is read (explainEvent).
 */
function explainer(tuning: Tuning, onlyEvent: string | undefined) {
  const print = (lines: readonly string[]): void => void process.stdout.write(lines.join('\n') + '\n\n');
  return {
    onEvent: (event: EcsEvent) => {
      if (onlyEvent !== undefined && eventId(event) === onlyEvent) print(explainEvent(tuning, event).lines);
    },
    onDecision: (alert: Alert, decision: Decision) => {
      if (onlyEvent !== undefined && !alert.events.some((e) => eventId(e) === onlyEvent)) return;
      print(explainAlert(tuning, alert, alert.events, decision).lines);
    },
  };
}

/**
 * `picket run`: the Kafka pipeline with its HTTP endpoints, until SIGTERM or SIGINT (SIGHUP reloads
 * the tuning file).
 * On a signal: stop fetching, finish the batch, publish and commit, leave the group, exit 0 —
 * or exit 1 if that takes longer than shutdown.graceMs.
 */
import { ConfigError, secretValues, type PicketConfig } from '../config.js';
import { createKafkaClient } from '../consumers/clientFactory.js';
import { explainKafkaStartError, kafkaSecurityOptions, librdkafkaSecurity } from '../consumers/kafkaSecurity.js';
import { startPipeline } from '../consumers/pipeline.js';
import { startHttp } from '../observability/http.js';
import { createLogger } from '../observability/logger.js';
import { PicketMetrics } from '../observability/metrics.js';

export async function runCommand(config: PicketConfig): Promise<number> {
  // Before anything listens: unreadable certificate files are a configuration error (exit 2).
  const security = kafkaSecurityOptions(config);
  const logger = createLogger(config.log.level, 'picket', { secrets: secretValues(config) });
  if (config.kafka.sasl.mechanism === 'plain' && !config.kafka.ssl.enabled) {
    logger.warn('kafka.sasl.mechanism plain without kafka.ssl.enabled sends the password in clear text');
  }
  const metrics = new PicketMetrics();
  let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
  const http = await startHttp(config.http.host, config.http.port, metrics, () =>
    pipeline === undefined ? { ready: false, detail: { starting: true } } : pipeline.readiness(),
  );
  logger.info({ port: http.port }, 'http endpoints listening (/metrics, /healthz, /readyz)');

  let signalled: string | undefined;
  const shutdown = new Promise<string>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        signalled = sig;
        resolve(sig);
      });
    }
  });

  try {
    const client = await createKafkaClient(config, logger, {
      kafkajs: security,
      librdkafka: librdkafkaSecurity(config),
    });
    pipeline = await Promise.race([startPipeline({ config, client, logger, metrics }), shutdown.then(() => undefined)]);
  } catch (err) {
    if (err instanceof ConfigError) {
      await http.close();
      throw err;
    }
    const explained = explainKafkaStartError(err, config);
    if (explained !== undefined) {
      logger.fatal({ errorName: (err as Error).name }, explained);
      process.stderr.write(`picket: ${explained}\n`);
    } else {
      logger.fatal({ err }, 'picket could not start');
    }
    await http.close();
    return 1;
  }
  if (pipeline === undefined) {
    logger.info({ signal: signalled }, 'stopped before the consumer started');
    await http.close();
    return 0;
  }
  // SIGHUP reloads the tuning file (it is also reloaded when it changes on disk).
  const started = pipeline;
  const onHangup = (): void => started.reloadTuning();
  process.on('SIGHUP', onHangup);
  const outcome = await Promise.race([shutdown, pipeline.stopped.then(() => 'crashed' as const)]);
  process.off('SIGHUP', onHangup);
  if (outcome === 'crashed' && signalled === undefined) {
    logger.fatal('the consumer stopped and will not restart');
    await pipeline.stop().catch(() => undefined);
    await http.close();
    return 1;
  }
  logger.info({ signal: outcome, graceMs: config.shutdown.graceMs }, 'stopping');
  let timer: NodeJS.Timeout | undefined;
  const graceExceeded = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), config.shutdown.graceMs);
  });
  const result = await Promise.race([pipeline.stop().then(() => 'stopped' as const), graceExceeded]);
  clearTimeout(timer);
  await http.close();
  if (result === 'timeout') {
    logger.error({ graceMs: config.shutdown.graceMs }, 'shutdown took longer than the grace time');
    return 1;
  }
  logger.info('stopped cleanly');
  return 0;
}

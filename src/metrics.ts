/**
 * Prometheus metrics (prom-client), one registry per app so tests can build several apps. Labels are
 * low-cardinality enums only (route patterns, channel kinds, error kinds): never an id or any content.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  turns: Counter<'channel'>;
  submissions: Counter<'channel' | 'kind' | 'urgency'>;
  errors: Counter<'kind'>;
  webhookDuration: Histogram<'channel'>;
}

/** Creates the registry and the service's metrics. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'intake_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    turns: new Counter({
      name: 'intake_turns_total',
      help: 'Conversation turns processed, by channel',
      labelNames: ['channel'],
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'intake_submissions_total',
      help: 'Reports sealed and stored, by channel, flow kind and urgency',
      labelNames: ['channel', 'kind', 'urgency'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'intake_errors_total',
      help: 'Errors by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    webhookDuration: new Histogram({
      name: 'intake_webhook_duration_seconds',
      help: 'Platform webhook handling time, by channel',
      labelNames: ['channel'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

import { Logger } from '@aws-lambda-powertools/logger';
import {
  apiHandler,
  HttpError,
  json,
  pendingMetrics,
  publishMetrics,
  publishMetricsAfter,
  recordMetric,
  stepHandler,
} from '@lcm/shared/platform';
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { captureEmf, type EmfPoint, metricsStageForTests } from '../../support/emf.ts';
import { httpEvent, lambdaContext } from '../http/fixtures.ts';

/**
 * The business metrics' one flush per invocation (platform/runtime/business-metrics.ts): what a
 * handler recorded is printed as EMF by its wrapper — the step wrapper, the API middleware, the
 * stream consumer's middleware — with Powertools Metrics writing to stdout.
 */

const silent = new Logger({ serviceName: 'lcm-test', logLevel: 'SILENT' });
const names = (points: EmfPoint[]) =>
  points.map((p) => `${p.name}${JSON.stringify(p.dimensions)}=${p.values}`);

describe('business metrics: recorded, then published once by the handler wrapper', () => {
  metricsStageForTests('unit');

  it('one EMF document per dimension set; values of one metric in a document are one array', async () => {
    const points = await captureEmf(() => {
      recordMetric('sessionsNoCapacity');
      recordMetric('sessionsNoCapacity');
      recordMetric('workersFailed', 1, { template: 'm5-metal' });
      // Undeclared dimensions are dropped; a declared one not given is `unknown`.
      recordMetric('inboundRejected', 3, { partner: 'lds', template: 'x' } as never);
      publishMetrics();
    });
    expect(names(points)).toEqual([
      'SessionsNoCapacity{"service":"lcm","stage":"unit"}=1,1',
      'WorkersFailed{"service":"lcm","stage":"unit","template":"m5-metal"}=1',
      'InboundEventsRejected{"service":"lcm","stage":"unit","partner":"lds","reason":"unknown"}=3',
    ]);
    expect(pendingMetrics()).toEqual([]);
  });

  it('stepHandler publishes what the step recorded, when it returns and when it throws', async () => {
    const ok = stepHandler(
      { key: 'task' },
      'Ok',
      async () => recordMetric('drains'),
      () => ({}),
      silent,
    );
    const fails = stepHandler(
      { key: 'task' },
      'Fails',
      async () => {
        recordMetric('launchesFailed', 1, { template: 't1' });
        throw new Error('boom');
      },
      () => ({}),
      silent,
    );
    const points = await captureEmf(async () => {
      await ok({});
      await expect(fails({})).rejects.toThrow('boom');
    });
    expect(names(points)).toEqual([
      'WorkerDrains{"service":"lcm","stage":"unit"}=1',
      'WorkerLaunchesFailed{"service":"lcm","stage":"unit","template":"t1"}=1',
    ]);
  });

  it('apiHandler publishes what the request recorded, for an answer and for a problem', async () => {
    const handler = apiHandler(
      async (event) => {
        recordMetric('inboundAccepted', 1, { partner: 'lds' });
        if (event.rawPath === '/v1/bad') throw new HttpError(400, 'no');
        return json(202, {});
      },
      { logger: silent },
    );
    const points = await captureEmf(async () => {
      expect((await handler(httpEvent({ path: '/v1/ok' }), lambdaContext())).statusCode).toBe(202);
      expect((await handler(httpEvent({ path: '/v1/bad' }), lambdaContext())).statusCode).toBe(400);
    });
    expect(names(points)).toEqual([
      'InboundEventsAccepted{"service":"lcm","stage":"unit","partner":"lds"}=1',
      'InboundEventsAccepted{"service":"lcm","stage":"unit","partner":"lds"}=1',
    ]);
  });

  it('publishMetricsAfter (the outbox consumer): published when the batch returns, dropped when it throws', async () => {
    let fail = false;
    const handler = middy<unknown, unknown>()
      .use(publishMetricsAfter())
      .handler(async () => {
        recordMetric('sessionsBooked', 1, { definition: fail ? 'retried-whole' : 'd1' });
        if (fail) throw new Error('crash');
        return {};
      });
    const points = await captureEmf(async () => {
      await handler({}, lambdaContext());
      fail = true;
      await expect(handler({}, lambdaContext())).rejects.toThrow('crash');
    });
    expect(names(points)).toEqual(['SessionsBooked{"service":"lcm","stage":"unit","definition":"d1"}=1']);
    expect(pendingMetrics()).toEqual([]);
  });
});

/**
 * What the partner simulators share: an HTTP server on a free loopback port that closes every
 * connection on stop, JSON replies, a request log, failure injection (programmatic and over
 * `POST /_sim/faults`) and signed CloudEvent delivery.
 */

export * from './common/events.ts';
export * from './common/faults.ts';
export * from './common/server.ts';

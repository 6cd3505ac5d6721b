/**
 * What the simulators share: an HTTP server on a free loopback port that closes every
 * connection on stop, JSON replies, a request log, failure injection (programmatic and over
 * `POST /_sim/faults`), signed CloudEvent delivery, and the partner simulators' kit (LDS,
 * grading: error body, API key, events, timers, control surface).
 */

export * from './common/events.ts';
export * from './common/faults.ts';
export * from './common/partner.ts';
export * from './common/server.ts';

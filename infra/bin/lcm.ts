#!/usr/bin/env node
/**
 * CDK app entry point (`cdk.json`: `npx tsx infra/bin/lcm.ts`).
 * Stage and options come from context: `npx cdk synth -c stage=prod` (see infra/lib/config.ts).
 */
import { App } from 'aws-cdk-lib';
import { applyNagChecks, buildApp } from '../lib/app.ts';

const app = new App();
buildApp(app);
applyNagChecks(app);

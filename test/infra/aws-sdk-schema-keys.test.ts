import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EC2Client, RunInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module without types (run by the root `postinstall`)
import { literalKeys, schemaFiles } from '../../tools/aws-sdk-schema-keys.mjs';
import { bundleProbe } from './bundle-probe.ts';

/**
 * tools/aws-sdk-schema-keys.mjs, the `postinstall` that writes the computed trait keys of the AWS
 * SDK's generated schemas as literals so esbuild can drop the schemas a bundle does not use
 * (aws/aws-sdk-js-v3#7607): the rewrite itself, that the installed SDK has it, that an EC2 bundle
 * keeps only its commands' schemas, and that the bundled client sends the same request as the SDK
 * as published (dist-cjs, which Node loads and the script leaves alone).
 */

const literalKeysOf = literalKeys as (source: string) => { source: string; changed: number };

describe('literalKeys', () => {
  it('writes a computed key naming a string constant as that string', () => {
    const source = [
      'const _xN = "xmlName";',
      'const _eQN = "ec2QueryName";',
      'export var A$ = [3, n0, _A, 0, [_M], [[1, { [_eQN]: `Min`,',
      '    [_xN]: _m }]]];',
    ].join('\n');
    const { source: out, changed } = literalKeysOf(source);
    expect(changed).toBe(2);
    expect(out).toContain('{ "ec2QueryName": `Min`,\n    "xmlName": _m }');
    expect(literalKeysOf(out).changed).toBe(0);
  });

  it('leaves keys that are not string constants of the file, and __proto__', () => {
    const source = ['const _p = "__proto__";', 'let k = f();', 'export const o = { [_p]: 1, [k]: 2 };'].join(
      '\n',
    );
    expect(literalKeysOf(source)).toEqual({ source, changed: 0 });
  });
});

describe('the installed AWS SDK', () => {
  it('has literal trait keys in every ES module schema file', () => {
    const files = (schemaFiles as () => string[])();
    expect(files.some((f) => f.endsWith('@aws-sdk/client-ec2/dist-es/schemas/schemas_0.js'))).toBe(true);
    for (const file of files) expect(literalKeysOf(readFileSync(file, 'utf8')).changed, file).toBe(0);
  });
});

describe('an EC2 client in a Lambda bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lcm-sdk-schemas-'));
  const bodies: string[] = [];
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          '<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationId>r-1</reservationId>' +
            '<instancesSet><item><instanceId>i-0123</instanceId><tagSet><item><key>lcm:worker</key><value>w-1</value></item></tagSet></item></instancesSet>' +
            '</RunInstancesResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const input: RunInstancesCommandInput = {
    ImageId: 'ami-0abc',
    InstanceType: 'c5.2xlarge',
    MinCount: 1,
    MaxCount: 1,
    ClientToken: 'w-1',
    BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 64, VolumeType: 'gp3' } }],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'lcm:worker', Value: 'w-1' }] }],
    IamInstanceProfile: { Arn: 'arn:aws:iam::000000000000:instance-profile/w' },
  };
  const probe = () =>
    bundleProbe(dir, [
      "import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';",
      "const client = new EC2Client({ region: 'us-east-1', endpoint: process.env.ENDPOINT, credentials: { accessKeyId: 'AKID', secretAccessKey: 's' } });",
      'const out = await client.send(new RunInstancesCommand(JSON.parse(process.env.INPUT)));',
      'console.log(JSON.stringify(out.Instances));',
    ]);

  it('keeps only the schemas its commands reach', async () => {
    const { outfile } = await probe();
    const bytes = statSync(outfile).size;
    // The whole EC2 schema file alone is some 550 KB minified; client and commands stay far below.
    expect(bytes).toBeLessThan(300_000);
  });

  it('sends the request the SDK as published sends, and reads the reply', async () => {
    const { outfile } = await probe();
    // Not spawnSync: the server answering the child runs in this process.
    const run = await promisify(execFile)(process.execPath, [outfile], {
      env: { PATH: process.env.PATH, ENDPOINT: endpoint, INPUT: JSON.stringify(input) },
      encoding: 'utf8',
    });
    expect(JSON.parse(run.stdout)).toEqual([
      { InstanceId: 'i-0123', Tags: [{ Key: 'lcm:worker', Value: 'w-1' }] },
    ]);
    const published = new EC2Client({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 's' },
    });
    const out = await published.send(new RunInstancesCommand(input));
    expect(out.Instances?.[0]?.InstanceId).toBe('i-0123');
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toBe(bodies[1]);
    expect(bodies[0]).toContain('BlockDeviceMapping.1.Ebs.VolumeSize=64');
  });
});

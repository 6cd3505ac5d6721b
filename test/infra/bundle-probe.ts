import { build } from 'esbuild';
import { esbuildOptions, REPO_ROOT } from '../../infra/lib/bundling.ts';

/**
 * A few lines of code bundled as a Lambda function would be (infra/lib/bundling.ts), to
 * `<dir>/index.mjs`: the file to run, and the inputs that kept bytes in it.
 */
export async function bundleProbe(
  dir: string,
  lines: string[],
): Promise<{ outfile: string; kept: string[] }> {
  const outfile = `${dir}/index.mjs`;
  const result = await build({
    ...esbuildOptions('(probe)', outfile),
    entryPoints: undefined,
    stdin: { contents: lines.join('\n'), resolveDir: REPO_ROOT, loader: 'ts' },
    metafile: true,
  });
  const [output] = Object.values(result.metafile.outputs).filter((o) => o.entryPoint !== undefined);
  const kept = Object.entries(output!.inputs)
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([input]) => input);
  return { outfile, kept };
}

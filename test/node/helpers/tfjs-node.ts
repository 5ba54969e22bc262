// Tells native-backend tests whether @tensorflow/tfjs-node is installed here. It is an optional
// dependency whose own install downloads libtensorflow, so on CI it is absent and those tests skip
// with this reason; where it is installed and built, a load failure must fail the tests, not skip them.
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Undefined when tfjs-node is installed with a built addon; otherwise why the native tests skip. */
export function tfjsNodeSkipReason(): string | undefined {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('@tensorflow/tfjs-node/package.json');
  } catch {
    return '@tensorflow/tfjs-node is not installed (optional dependency; `npm run setup:tfjs-node` builds it)';
  }
  const libDir = join(dirname(packageJson), 'lib');
  const built = existsSync(libDir) && readdirSync(libDir).some((d) => existsSync(join(libDir, d, 'tfjs_binding.node')));
  return built ? undefined : '@tensorflow/tfjs-node is installed without its native addon (`npm run setup:tfjs-node` builds it)';
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConsole, consoleSourceHash } from '../../../console/build';
import { CONSOLE_FILES, CONSOLE_HTML, CONSOLE_SOURCE_HASH } from '../../../lambdas/api/console-assets.generated';
import { PROJECT_ROOT } from '../../../lib/paths';

const SOURCE_DIR = join(PROJECT_ROOT, 'console', 'src');
const sources = readdirSync(SOURCE_DIR).map((name) => ({ name, text: readFileSync(join(SOURCE_DIR, name), 'utf8') }));

describe('the console bundle', () => {
  it('is built from the current sources and stays within its size budget (150 KB gzipped)', async () => {
    const outcome = await buildConsole();
    expect(CONSOLE_SOURCE_HASH).toBe(consoleSourceHash());
    expect(outcome.gzipBytes).toBeLessThan(150 * 1024);
    expect(outcome.rawBytes).toBeGreaterThan(outcome.gzipBytes);
  });

  it('loads nothing from another origin and needs no inline script or eval', () => {
    expect(CONSOLE_HTML).not.toMatch(/https?:\/\//);
    expect(CONSOLE_HTML).not.toMatch(/<script>|\son\w+=|style=/i);
    for (const [name, file] of Object.entries(CONSOLE_FILES)) {
      expect(name).toMatch(/^app-[A-Z0-9]+\.(js|css)$/);
      expect(file.body).not.toMatch(/\beval\(|new Function\(/);
      expect(file.body).not.toMatch(/@import|url\(\s*['"]?https?:|fonts\.googleapis/);
    }
  });

  it('never turns API values into markup', () => {
    for (const { name, text } of sources) {
      expect({ name, found: /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write/.exec(text)?.[0] }).toEqual({ name, found: undefined });
    }
  });

  it('keeps the bearer token out of URLs and logs', () => {
    for (const { name, text } of sources) {
      expect({ name, logs: /console\.(log|info|warn|error|debug)/.test(text) }).toEqual({ name, logs: false });
    }
    const api = sources.find((source) => source.name === 'api.ts')?.text ?? '';
    // The token goes in the Authorization header; URLs are built from the path and query only.
    expect(api).toMatch(/authorization: `Bearer \$\{session\.token\}`/);
    expect(api).toMatch(/credentials: 'omit'/);
  });
});

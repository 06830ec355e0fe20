import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDeploymentSettings, RUNTIME_SETTINGS, RUNTIME_SETTING_NAMES, type SettingInfo } from '../../../lambdas/core/settings';
import { CONSTRUCT_SETTINGS } from '../../../lib/construct-settings';
import { hooklineContextSchema, parseHooklineContext } from '../../../lib/context';
import { catalogEntries, CDK_JSON_FILE, cdkJsonWithExample, README_FILE, readmeWithTable, renderSettingsTable } from '../../../scripts/gen-settings';

describe('the settings catalog and what is generated from it', () => {
  it('the README settings table is the one the catalog renders (npm run gen:settings)', () => {
    const readme = readFileSync(README_FILE, 'utf8');
    expect(readme).toContain(renderSettingsTable());
    expect(readmeWithTable(readme)).toBe(readme);
  });

  it("cdk.json's hookline example is the one the catalog renders (npm run gen:settings)", () => {
    const cdkJson = readFileSync(CDK_JSON_FILE, 'utf8');
    expect(cdkJsonWithExample(cdkJson)).toBe(cdkJson);
  });

  it('a README row that differs from the catalog is caught', () => {
    const readme = readFileSync(README_FILE, 'utf8');
    const edited = readme.replace('| `maxAttempts` | integer |  | `9` |', '| `maxAttempts` | integer |  | `10` |');
    expect(edited).not.toBe(readme);
    expect(readmeWithTable(edited)).not.toBe(edited);
  });

  it('the cdk.json example parses as context and as runtime settings, at the catalog defaults', () => {
    const context = parseHooklineContext(JSON.parse(readFileSync(CDK_JSON_FILE, 'utf8')).context.hookline) as Record<string, unknown>;
    const runtime = Object.fromEntries(RUNTIME_SETTING_NAMES.map((name) => [name, context[name]]));
    expect(parseDeploymentSettings(runtime)).toEqual(parseDeploymentSettings({}));
  });

  it('every cdk.json context key is in the catalog, and every catalog entry is a context key', () => {
    const contextKeys = Object.keys(hooklineContextSchema.shape).sort();
    expect(catalogEntries().map(([name]) => name).sort()).toEqual(contextKeys);
  });

  it('each runtime entry parses its own default and refuses a value outside its bounds', () => {
    for (const [name, setting] of Object.entries(RUNTIME_SETTINGS)) {
      const info: { min?: number; max?: number; type: string } = setting;
      if (info.type !== 'integer' && info.type !== 'number') continue;
      expect(() => parseDeploymentSettings({ [name]: info.max! + 1 }), name).toThrow(new RegExp(`${name}: Too big`));
      expect(() => parseDeploymentSettings({ [name]: info.min! - 1 }), name).toThrow(new RegExp(`${name}: Too small`));
    }
  });

  it('every entry has a description and says where it applies', () => {
    const entries: [string, SettingInfo][] = [...Object.entries(RUNTIME_SETTINGS), ...Object.entries(CONSTRUCT_SETTINGS)];
    for (const [name, info] of entries) {
      expect(info.description.length, name).toBeGreaterThan(10);
      expect(info.appliesTo.length, name).toBeGreaterThan(0);
      expect(info.default !== undefined || info.defaultText !== undefined, name).toBe(true);
    }
  });
});

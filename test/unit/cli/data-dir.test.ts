import { describe, expect, it } from 'vitest';
import { localDataDir } from '../../../cli/data-dir';

describe('localDataDir', () => {
  it('takes --data-dir first, then HOOKLINE_DATA_DIR, then .hookline', () => {
    expect(localDataDir('/flag', { HOOKLINE_DATA_DIR: '/env' })).toBe('/flag');
    expect(localDataDir(undefined, { HOOKLINE_DATA_DIR: ' /env ' })).toBe('/env');
    expect(localDataDir(undefined, {})).toBe('.hookline');
  });

  it('reads a blank HOOKLINE_DATA_DIR as unset, as npm start does', () => {
    expect(localDataDir(undefined, { HOOKLINE_DATA_DIR: '  ' })).toBe('.hookline');
  });
});

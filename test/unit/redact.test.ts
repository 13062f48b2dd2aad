import { afterEach, describe, expect, it } from 'vitest';
import {
  clearSecrets,
  redact,
  redactValue,
  registerSecret,
  registerSecretsFromEnv,
  StreamRedactor,
} from '../../harness/core/redact.js';

afterEach(() => clearSecrets());

describe('redact', () => {
  it('masks every registered secret, longest first, and ignores too short values', () => {
    registerSecret('hunter2pw');
    registerSecret('hunter2pw-long');
    registerSecret('ab');
    registerSecretsFromEnv(['HIL_X', 'HIL_UNSET'], { HIL_X: 'c0mmunity' });
    expect(redact('pw=hunter2pw-long, again hunter2pw, snmp c0mmunity, ab stays')).toBe(
      'pw=***, again ***, snmp ***, ab stays',
    );
    expect(redactValue({ a: ['x hunter2pw'], t: 3, d: { s: 'c0mmunity' } })).toEqual({
      a: ['x ***'],
      t: 3,
      d: { s: '***' },
    });
  });

  it('masks a secret cut across chunks at every position', () => {
    registerSecret('s3cr3t-token');
    const text = 'before s3cr3t-token after\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const r = new StreamRedactor();
      expect(r.push(text.slice(0, cut)) + r.push(text.slice(cut)) + r.flush(), `cut at ${cut}`).toBe(
        'before *** after\n',
      );
    }
  });

  it('passes text through unchanged when no secret is registered', () => {
    const r = new StreamRedactor();
    expect(r.push('s3cr3t-tok')).toBe('s3cr3t-tok');
  });
});

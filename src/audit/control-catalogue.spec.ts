import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AUDIT_ACTIONS, CONTROLS, controlsMarkdown } from './control-catalogue';

describe('control catalogue', () => {
  it('docs/controls.md is the catalogue rendered (run `npm run docs:controls` after a change)', () => {
    expect(readFileSync(path.resolve(__dirname, '../../docs/controls.md'), 'utf8')).toBe(controlsMarkdown());
  });

  it('covers every control the issue lists, each evidenced by at least one action', () => {
    const required = [
      'SOC2:CC6.1',
      'SOC2:CC6.2',
      'SOC2:CC6.3',
      'SOC2:CC7.2',
      'SOC2:CC8.1',
      'NIST-800-53:AC-2',
      'NIST-800-53:AC-6(9)',
      'NIST-800-53:AU-2',
      'NIST-800-53:AU-9',
      'NIST-800-53:AU-10',
      'NIST-800-53:CM-3',
      'NIST-800-53:CM-5',
      'NIST-800-53:IR-4',
      'ISO27001-2022:A.5.15',
      'ISO27001-2022:A.8.2',
      'ISO27001-2022:A.8.15',
      'ISO27001-2022:A.8.32',
      'ISO27001-2013:A.12.1.2',
      'ISO27001-2013:A.9.2.3',
      'PCI-DSS-4.0:6.5.1',
      'PCI-DSS-4.0:7.2',
      'PCI-DSS-4.0:8.2',
      'PCI-DSS-4.0:10.2.1',
    ];
    expect(Object.keys(CONTROLS)).toEqual(expect.arrayContaining(required));
    const used = new Set(Object.values(AUDIT_ACTIONS).flatMap((a) => a.controls as readonly string[]));
    for (const control of Object.keys(CONTROLS)) expect(used.has(control)).toBe(true);
  });
});

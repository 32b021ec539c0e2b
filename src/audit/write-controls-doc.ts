import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { controlsMarkdown } from './control-catalogue';

// `npm run docs:controls`: regenerates docs/controls.md from the catalogue.
const target = path.resolve(__dirname, '../../../docs/controls.md');
writeFileSync(target, controlsMarkdown());
console.log(`wrote ${target}`);

#!/usr/bin/env node
// The CLI is compiled with the service (npm run build, also run by npm ci via `prepare`).
require('../dist/src/cli/main.js');

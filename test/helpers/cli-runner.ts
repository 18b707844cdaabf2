// Entry point for tests that run the real `portcullis` command as a child process, from the TypeScript sources.

import { main } from '../../src/cli/main.js';

await main(process.argv.slice(2));

// The `portcullis` command on src/ through tsx, for runs without a compiled build (bin/portcullis.js runs dist/).
// Cluster workers run this same file again, with the same `--import tsx`.

import { main } from '../src/cli/main.js';

await main(process.argv.slice(2));

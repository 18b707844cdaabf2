// What `npm run bench` and `npm run soak` share in reading their command lines: parsing with a usage text,
// --help, exit 2 with the usage on a mistake, and positive numbers.

import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type WithHelp<T extends Options> = T & { help: { type: 'boolean'; short: 'h'; default: false } };

export interface CommandLine<T extends Options> {
  values: ReturnType<typeof parseArgs<{ args: string[]; options: WithHelp<T>; allowPositionals: false }>>['values'];
  fail(message: string): never;
  /** The option's text as a positive number, or exit with a message naming the option. */
  positive(name: string, text: string): number;
}

export function readCommandLine<T extends Options>(command: string, usage: string, args: string[], options: T): CommandLine<T> {
  const fail = (message: string): never => {
    console.error(`${command}: ${message}\n\n${usage}`);
    process.exit(2);
  };
  const all = { ...options, help: { type: 'boolean', short: 'h', default: false } } as WithHelp<T>;
  let values: CommandLine<T>['values'];
  try {
    values = parseArgs({ args, options: all, allowPositionals: false }).values;
  } catch (error) {
    return fail((error as Error).message);
  }
  if ((values as { help?: boolean }).help === true) {
    console.log(usage);
    process.exit(0);
  }
  const positive = (name: string, text: string) => (/^\d+(\.\d+)?$/.test(text) && Number(text) > 0 ? Number(text) : fail(`--${name}: expected a positive number`));
  return { values, fail, positive };
}

#!/usr/bin/env node
/** The `ctscope` bin: runs the command tree and maps errors to exit codes (2 = usage). */
import { CommanderError } from 'commander';
import { EXIT_USAGE } from './commands/analyze.js';
import { buildProgram } from './program.js';

async function main(): Promise<void> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.exitCode === 0 ? 0 : EXIT_USAGE;
    } else {
      process.stderr.write(`ctscope: ${(err as Error).stack ?? String(err)}\n`);
      code = 70;
    }
  }
  process.exitCode = code;
}

await main();

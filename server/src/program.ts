/** The `ctscope` command tree (commander); the bin shell lives in cli.ts. */
import { Command } from 'commander';
import { runAnalyze } from './commands/analyze.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Build the program; `exit` receives the exit code so tests can run it in-process. */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('ctscope')
    .description('Real-time conntrack incident dashboard: find UDP flows stuck on stale or missing NAT.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('analyze')
    .description('Classify captured conntrack flows against captured NAT rules (offline, for post-mortems).')
    .option(
      '--nat <file>',
      'iptables-save, nft -j or ipvsadm -Ln output; repeat, oldest first (last = current)',
      collect,
      [],
    )
    .option(
      '--list <file>',
      'conntrack -L output; repeat, oldest first; "--" lines split dumps in one file',
      collect,
      [],
    )
    .option('--events <file>', 'conntrack -E output (any -o format)')
    .option('--json', 'print NDJSON, one flow per line')
    .option('--list-interval <seconds>', 'seconds between dumps (default: estimated from the dumps)')
    .option('--unanswered-after <seconds>', 'UNREPLIED age that makes a healthy flow "unanswered"', '10')
    .option('--include-destroyed', 'also show flows whose DESTROY was seen')
    .option('--skip-bad-lines', 'report unparseable lines but carry on instead of exiting 2')
    .addHelpText(
      'after',
      '\nExit status: 0 no critical flow, 1 at least one critical flow, 2 usage or input error.\n' +
        '\nExample:\n  ctscope analyze --nat nat-before.txt --nat nat-after.txt --list list-poll.txt\n',
    )
    .action(async (opts) => {
      exit(
        await runAnalyze(opts, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }),
      );
    });

  return program;
}

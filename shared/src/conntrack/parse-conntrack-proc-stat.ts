/** Reads the kernel's `/proc/net/stat/nf_conntrack` into the counters `conntrack -S` and `conntrack -C` print. */

/**
 * The file's column names for the counters `conntrack -S` prints, under `conntrack -S`'s names (which are the
 * metric names). Other columns are left out: `new`, `ignore` and `delete` are always 0 on current kernels and
 * `conntrack -S` omits them, and the `expect_*` ones belong to `conntrack -S expect`.
 */
const STAT_NAMES: Readonly<Record<string, string>> = {
  found: 'found',
  invalid: 'invalid',
  insert: 'insert',
  insert_failed: 'insert_failed',
  drop: 'drop',
  early_drop: 'early_drop',
  icmp_error: 'error',
  search_restart: 'search_restart',
  clashres: 'clash_resolve',
  chainlength: 'chaintoolong',
};

/** The counters of one reading of the file. */
export interface ProcConntrackStat {
  /** Entries in the table (the `entries` column, the same on every CPU's row): what `conntrack -C` prints. */
  count: number;
  /** Counters summed over CPUs, named as `conntrack -S` names them. */
  stats: Record<string, number>;
}

/** Parse the file's text: a header of column names, then one row of hex numbers per CPU. Throws on anything else. */
export function parseConntrackProcStat(text: string): ProcConntrackStat {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const entries = header.indexOf('entries');
  if (entries < 0) throw new Error('nf_conntrack stat: no "entries" column in the header');
  if (lines.length < 2) throw new Error('nf_conntrack stat: no per-CPU rows');
  const stats = Object.create(null) as Record<string, number>;
  for (const name of header) if (STAT_NAMES[name] !== undefined) stats[STAT_NAMES[name]] = 0;
  let count = 0;
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.trim().split(/\s+/);
    if (cells.length !== header.length) {
      throw new Error(`nf_conntrack stat: row ${r} has ${cells.length} columns, the header ${header.length}`);
    }
    for (let c = 0; c < cells.length; c++) {
      const v = /^[0-9a-fA-F]{1,16}$/.test(cells[c]!) ? Number.parseInt(cells[c]!, 16) : Number.NaN;
      if (!Number.isSafeInteger(v)) throw new Error(`nf_conntrack stat: row ${r}: bad number "${cells[c]}"`);
      const name = STAT_NAMES[header[c]!];
      if (name !== undefined) stats[name]! += v;
      else if (c === entries && r === 1) count = v;
    }
  }
  return { count, stats };
}

// Durations in config files are written the way operators say them ("1h30m", "45m", "90s", "250ms") and
// carried in milliseconds everywhere else.

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PART = /(\d+)(ms|d|h|m|s)/y;

/** Parses "1h30m" into milliseconds; returns null when the text is not a duration. "0" is zero. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (trimmed.length === 0) return null;
  let total = 0;
  let position = 0;
  let lastUnitRank = -1;
  const ranks = ['d', 'h', 'm', 's', 'ms'];
  while (position < trimmed.length) {
    PART.lastIndex = position;
    const match = PART.exec(trimmed);
    if (!match) return null;
    const unit = match[2] as string;
    // Units must come largest first and only once, so "30m1h" or "1h1h" are refused rather than guessed at.
    const rank = ranks.indexOf(unit);
    if (rank <= lastUnitRank) return null;
    lastUnitRank = rank;
    total += Number(match[1]) * (UNIT_MS[unit] as number);
    position = PART.lastIndex;
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** Formats milliseconds back into the config notation, for summaries and error messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}

/**
 * Windows' `CommandLineToArgvW`: how a process's command line splits into `process.args`, as
 * Winlogbeat (`windows.splitCommandLine`) and the Elastic pipelines (`commandLineToArgv`) split it.
 * The rules follow Wine's implementation, which matches Windows:
 *
 * * The program name (argv[0]) is special: when it starts with `"` it runs to the next `"` (no
 *   escapes at all, so `"C:\dir\"` ends at the second quote); otherwise it runs to the first space
 *   or tab. Backslashes in it are literal.
 * * In the other arguments, spaces and tabs outside quotes separate arguments; `2n` backslashes
 *   followed by `"` give `n` backslashes and the quote opens or closes a quoted part; `2n+1`
 *   backslashes followed by `"` give `n` backslashes and a literal `"`; backslashes not followed
 *   by `"` are literal. Inside a quoted part, a run of quotes counts modulo 3: every third quote
 *   is a literal `"` (`""""` → `"`), and two quotes end the quoted part.
 *
 * An empty command line gives no arguments here (Windows would return the caller's own path,
 * which a log does not hold).
 */
export function commandLineToArgv(commandLine: string): string[] {
  const s = commandLine;
  const n = s.length;
  if (n === 0) return [];
  const argv: string[] = [];
  let i = 0;
  let arg = '';
  if (s[0] === '"') {
    i = 1;
    while (i < n && s[i] !== '"') arg += s[i++];
    if (i < n) i++; // the closing quote
  } else {
    while (i < n && s[i] !== ' ' && s[i] !== '\t') arg += s[i++];
  }
  argv.push(arg);
  while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  if (i >= n) return argv;

  arg = '';
  let quotes = 0; // 0 outside a quoted part; 1 inside (Wine's qcount)
  let backslashes = 0;
  while (i < n) {
    const c = s[i]!;
    if ((c === ' ' || c === '\t') && quotes === 0) {
      argv.push(arg);
      arg = '';
      backslashes = 0;
      do i++;
      while (i < n && (s[i] === ' ' || s[i] === '\t'));
      if (i >= n) return argv;
    } else if (c === '\\') {
      arg += c;
      backslashes++;
      i++;
    } else if (c === '"') {
      if (backslashes % 2 === 0) {
        // 2n backslashes: n of them, and this quote opens or closes.
        arg = arg.slice(0, arg.length - backslashes / 2);
        quotes++;
      } else {
        // 2n+1 backslashes: n of them and a literal quote.
        arg = `${arg.slice(0, arg.length - (backslashes + 1) / 2)}"`;
      }
      i++;
      backslashes = 0;
      while (i < n && s[i] === '"') {
        if (++quotes === 3) {
          arg += '"';
          quotes = 0;
        }
        i++;
      }
      if (quotes === 2) quotes = 0;
    } else {
      arg += c;
      backslashes = 0;
      i++;
    }
  }
  argv.push(arg);
  return argv;
}

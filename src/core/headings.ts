// Headings of a text file by their level: where a changelog's release, a README's section or an INI
// file's [section] starts (the reader's windows keep to one; readerFocus.ts, readerNamed.ts).

/** A line of ===, ---, ~~~ (and the like) that underlines the heading above it. */
export const UNDERLINE = /^\s*([=\-~^*+])\1{2,}\s*$/;
const UNDERLINE_LEVEL: Record<string, number> = { '=': 1, '-': 2 };

/**
 * Each line's heading level (0: no heading): a line underlined by === (1), --- (2) or ~~~ and the
 * like (3) (reStructuredText, Markdown, History.md changelogs), an INI/TOML [section] (1), and in
 * Markdown files a # heading (its number of #; elsewhere # is a comment).
 */
export function headingLevels(lines: readonly string[], markdown: boolean): number[] {
  return lines.map((l, i) => {
    if (!l.trim() || UNDERLINE.test(l)) return 0;
    const under = i + 1 < lines.length ? UNDERLINE.exec(lines[i + 1]) : null;
    if (under) return UNDERLINE_LEVEL[under[1]] ?? 3;
    if (/^\[[^\]\s][^\]]*\]\s*$/.test(l)) return 1;
    const atx = markdown ? /^(#{1,6})\s+\S/.exec(l) : null;
    return atx ? atx[1].length : 0;
  });
}

/** Each line's heading level in the file at `path` (# headings only in a Markdown file). */
export function headingLevelsIn(lines: readonly string[], path: string): number[] {
  return headingLevels(lines, /\.(md|markdown|mdx)$/i.test(path));
}

/**
 * The `string-width` the CLI bundle gives yargs (package.json `bundle`: esbuild --alias). yargs measures every cell
 * of --help with it, and string-width 8 starts by building an Intl.Segmenter and Unicode-property regexes: a third
 * of --help's start-up (measured 76 ms of ~275). This measures per code point instead — ANSI escapes and
 * non-printing marks 0, East Asian wide/fullwidth and emoji presented as emoji 2 (the same get-east-asian-width table string-width
 * uses), the rest 1 — which is string-width's answer for everything but multi-code-point grapheme clusters (ZWJ
 * emoji sequences, Hangul jamo), which netcheck's help text never holds.
 */
import { eastAsianWidth } from 'get-east-asian-width';

// ESC [ ... final byte, and OSC sequences (hyperlinks): what strip-ansi removes.
const ANSI = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)/g;
const SINGLE_COLUMN = /^[\u0020-\u007E\u00A0-\u00AC\u00AE-\u02FF\u2010-\u2027\u2030-\u205E\u2190-\u21FF\u2500-\u257F]*$/;
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const PICTOGRAPH = /\p{Emoji_Presentation}/u;

export default function stringWidth(text: string, options: { ambiguousIsNarrow?: boolean } = {}): number {
  if (typeof text !== 'string' || text.length === 0) return 0;
  const plain = text.includes('\u001B') ? text.replace(ANSI, '') : text;
  if (SINGLE_COLUMN.test(plain)) return plain.length;
  let width = 0;
  for (const character of plain) {
    if (ZERO_WIDTH.test(character)) continue;
    if (PICTOGRAPH.test(character)) width += 2;
    else width += eastAsianWidth(character.codePointAt(0)!, { ambiguousAsWide: options.ambiguousIsNarrow === false });
  }
  return width;
}

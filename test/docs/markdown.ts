/**
 * Just enough Markdown for the docs tests: headings with their GitHub anchors, sections, tables,
 * links, and the code (fenced blocks and inline spans) where command lines are written.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MarkdownFile {
  /** Relative to the repository root, with forward slashes: `README.md`, `docs/deploy.md`. */
  path: string;
  text: string;
}

export interface Heading {
  level: number;
  /** The heading as written, without the leading #s. */
  raw: string;
  /** The anchor GitHub gives it, with -1, -2... for repeats. */
  slug: string;
  /** 1-based line number. */
  line: number;
}

export interface Line {
  text: string;
  /** 1-based. */
  number: number;
  /** Inside a fenced code block (the fence lines themselves count as inside). */
  inFence: boolean;
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** README.md and every docs/*.md, as the repository has them. */
export function readProjectDocs(root = REPO_ROOT): MarkdownFile[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs].map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') }));
}

/** The lines of a file, each marked as inside a fenced code block or not. */
export function linesOf(text: string): Line[] {
  let fence: string | undefined;
  return text.split('\n').map((text, i) => {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === undefined && opener) {
      fence = opener;
      return { text, number: i + 1, inFence: true };
    }
    if (fence !== undefined) {
      if (opener?.startsWith(fence) && text.trim() === opener) fence = undefined;
      return { text, number: i + 1, inFence: true };
    }
    return { text, number: i + 1, inFence: false };
  });
}

/** The text GitHub renders for heading or link text: code spans, emphasis and links unwrapped. */
function renderedText(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/\*\*|__/g, '');
}

/**
 * GitHub's heading anchor: lower case, every character that is not a letter, digit, mark,
 * underscore, space or hyphen dropped, spaces turned into hyphens (the rule of github-slugger).
 */
export function githubSlug(headingMarkdown: string): string {
  return renderedText(headingMarkdown)
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The ATX headings outside code blocks, with their anchors as GitHub numbers repeats. */
export function headingsOf(text: string): Heading[] {
  const seen = new Map<string, number>();
  const headings: Heading[] = [];
  for (const line of linesOf(text)) {
    if (line.inFence) continue;
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (!m) continue;
    const raw = m[2] as string;
    const base = githubSlug(raw);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    headings.push({
      level: (m[1] as string).length,
      raw,
      slug: count ? `${base}-${count}` : base,
      line: line.number,
    });
  }
  return headings;
}

/** Every anchor a link can point at in this file: heading slugs and explicit `<a id|name="...">`. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set(headingsOf(text).map((h) => h.slug));
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] as string);
  return anchors;
}

/** The lines from a heading to the next heading of the same or a higher level. */
export function sectionLines(text: string, heading: Heading): Line[] {
  const end = headingsOf(text).find((h) => h.line > heading.line && h.level <= heading.level)?.line;
  return linesOf(text).filter((l) => l.number > heading.line && (end === undefined || l.number < end));
}

/** Cells of a table row (`| a | b |`), trimmed; escaped pipes `\|` stay inside their cell. */
export function tableCells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/** The body rows of the tables among `lines` whose first header cell is `header`. */
export function tableRows(lines: Line[], header: string): Line[] {
  const rows: Line[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line;
    const next = lines[i + 1];
    const isHeader =
      !line.inFence &&
      line.text.trim().startsWith('|') &&
      tableCells(line.text)[0]?.toLowerCase() === header &&
      next !== undefined &&
      /^\s*\|?\s*:?-{3,}/.test(next.text);
    if (!isHeader) continue;
    for (let j = i + 2; j < lines.length && (lines[j] as Line).text.trim().startsWith('|'); j++)
      rows.push(lines[j] as Line);
  }
  return rows;
}

/** Inline code spans of a line outside fenced blocks (single or multiple backticks). */
export function inlineCode(text: string): string[] {
  return [...text.matchAll(/(`+)(.+?)\1(?!`)/g)].map((m) => (m[2] as string).trim());
}

export interface Link {
  target: string;
  line: number;
}

/** Inline links and images `[text](target)` outside code, and reference definitions `[x]: target`. */
export function linksOf(text: string): Link[] {
  const links: Link[] = [];
  for (const line of linesOf(text)) {
    if (line.inFence) continue;
    const prose = line.text.replace(/(`+).+?\1(?!`)/g, '');
    for (const m of prose.matchAll(/!?\[(?:[^\]]|\\\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ target: m[1] as string, line: line.number });
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(prose);
    if (definition) links.push({ target: definition[1] as string, line: line.number });
  }
  return links;
}

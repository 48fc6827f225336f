/**
 * Compares the CLI as `--help` shows it (the commander program, walked) with README.md and docs/.
 *
 * The docs' convention, which the messages below spell out when something is missing:
 * - each command has one section whose heading is the command in backticks, e.g.
 *   ## `chatbot-ops db load`, in the docs/*.md file of its area;
 * - its options are the rows of a table under that heading whose first column is headed
 *   `option`, the flags in backticks in the first cell (`-f, --follow`, `--since <time>`);
 * - the global options are the rows of such a table under a heading "Global options";
 * - every command line written in code (`chatbot-ops ...` or `./bin/chatbot-ops.js ...`) names
 *   commands and options that exist.
 * Each problem is one message saying what to add or remove, and where.
 */
import type { Command, Option } from 'commander';
import {
  type Heading,
  headingsOf,
  inlineCode,
  type Line,
  linesOf,
  type MarkdownFile,
  sectionLines,
  tableCells,
  tableRows,
} from './markdown.js';

export interface CliOption {
  /** As --help shows them: `-f, --follow`, `--since <time>`. */
  flags: string;
  /** The short and long forms: `-f`, `--follow`. */
  names: string[];
  takesValue: boolean;
  description: string;
}

export interface CliCommand {
  /** Words after `chatbot-ops`: ['db', 'load']; [] for the program itself. */
  path: string[];
  /** The command's own options, without --help (documented once, with the global options). */
  options: CliOption[];
  /** commander's usage line: `[options] <files...>`. */
  usage: string;
  children: CliCommand[];
}

/** The help option every command has; it is documented once, among the global options. */
const HELP_NAMES = ['-h', '--help'];

/** The docs file for a new top-level command that has no sibling to sit beside yet. */
const AREA_FILES: Record<string, string> = {
  mcp: 'docs/chatbot.md',
  tools: 'docs/chatbot.md',
  ingest: 'docs/ingest.md',
  'create-ingest': 'docs/ingest.md',
};

function cliOption(option: Option, includeHelp: boolean): CliOption | undefined {
  if (!includeHelp && option.long === '--help') return undefined;
  return {
    flags: option.flags,
    names: [option.short, option.long].filter((n): n is string => Boolean(n)),
    takesValue: option.required || option.optional,
    description: option.description,
  };
}

/** The program as --help lists it: visible commands (not the implicit `help`) and options. */
export function cliFromProgram(cmd: Command, path: string[] = []): CliCommand {
  const help = cmd.createHelp();
  const isRoot = path.length === 0;
  return {
    path,
    options: help
      .visibleOptions(cmd)
      .map((o) => cliOption(o, isRoot))
      .filter((o): o is CliOption => o !== undefined),
    usage: cmd.usage(),
    children: help
      .visibleCommands(cmd)
      .filter((sub) => cmd.commands.includes(sub))
      .map((sub) => cliFromProgram(sub, [...path, sub.name()])),
  };
}

function allCommands(root: CliCommand): CliCommand[] {
  return root.children.flatMap((c) => [c, ...allCommands(c)]);
}

const show = (path: readonly string[]) => `chatbot-ops ${path.join(' ')}`.trim();

/** A group such as `db` needs no section of its own unless it has options besides --help. */
function needsSection(cmd: CliCommand): boolean {
  return cmd.children.length === 0 || cmd.options.length > 0;
}

interface DocumentedOption {
  name: string;
  file: string;
  line: number;
}

interface DocumentedCommand {
  path: string[];
  file: string;
  heading: Heading;
  options: DocumentedOption[];
}

/** The flags named in the first cell of each row: `--since <time>`, `-f, --follow`. */
function optionsInRows(rows: Line[], file: string): DocumentedOption[] {
  return rows.flatMap((row) =>
    inlineCode(tableCells(row.text)[0] ?? '').flatMap((code) =>
      [...code.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)].map((m) => ({
        name: m[1] as string,
        file,
        line: row.number,
      })),
    ),
  );
}

/** A command's section heading: the command in backticks, nothing else. */
const COMMAND_HEADING = /^#{1,6}\s+`chatbot-ops ([^`]+)`\s*$/;

function documentedCommands(files: MarkdownFile[]): DocumentedCommand[] {
  return files.flatMap((file) =>
    headingsOf(file.text).flatMap((heading) => {
      const m = COMMAND_HEADING.exec(`# ${heading.raw}`);
      if (!m) return [];
      const options = optionsInRows(tableRows(sectionLines(file.text, heading), 'option'), file.path);
      return [{ path: (m[1] as string).trim().split(/\s+/), file: file.path, heading, options }];
    }),
  );
}

function globalOptionsDocumented(files: MarkdownFile[]): DocumentedOption[] | undefined {
  for (const file of files) {
    const heading = headingsOf(file.text).find((h) => h.raw.toLowerCase() === 'global options');
    if (heading) return optionsInRows(tableRows(sectionLines(file.text, heading), 'option'), file.path);
  }
  return undefined;
}

const samePath = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((w, i) => w === b[i]);

/** Where a missing command's section belongs: beside its siblings, else its parent, else its area. */
function suggestedFile(path: string[], documented: DocumentedCommand[]): string {
  const parent = path.slice(0, -1);
  const sibling = documented.find((d) => parent.length > 0 && samePath(d.path.slice(0, -1), parent));
  if (sibling) return sibling.file;
  const name = path[0] as string;
  if (AREA_FILES[name]) return AREA_FILES[name];
  if (name.startsWith('create-')) return 'docs/deploy.md';
  return 'the docs/*.md file of its area (the list is in README.md, section "Reference")';
}

function optionRow(o: CliOption): string {
  return `| \`${o.flags}\` | ${o.description || '(what it does)'} |`;
}

function sectionSkeleton(cmd: CliCommand): string {
  const lines = [`## \`${show(cmd.path)}\``, '', '```text', `${show(cmd.path)} ${cmd.usage}`, '```', ''];
  if (cmd.options.length > 0) lines.push('| option | meaning |', '|---|---|', ...cmd.options.map(optionRow));
  else lines.push('No options.');
  return lines.map((l) => `    ${l}`).join('\n');
}

function checkSections(root: CliCommand, documented: DocumentedCommand[]): string[] {
  const problems: string[] = [];
  const commands = allCommands(root);

  for (const cmd of commands.filter(needsSection)) {
    const sections = documented.filter((d) => samePath(d.path, cmd.path));
    if (sections.length === 0) {
      problems.push(
        `\`${show(cmd.path)}\` is listed by --help but has no section in docs/. ` +
          `Add this to ${suggestedFile(cmd.path, documented)} (a heading of any level), then describe it:\n\n${sectionSkeleton(cmd)}`,
      );
    } else if (sections.length > 1) {
      problems.push(
        `\`${show(cmd.path)}\` has ${sections.length} sections (${sections.map((s) => `${s.file}:${s.heading.line}`).join(', ')}): ` +
          'document each command once; link to that section from elsewhere.',
      );
    }
  }

  for (const doc of documented) {
    const cmd = commands.find((c) => samePath(c.path, doc.path));
    if (!cmd) {
      problems.push(
        `${doc.file}:${doc.heading.line} documents \`${show(doc.path)}\`, which \`chatbot-ops --help\` does not list: ` +
          'remove the section, or fix the heading to the command as --help names it (no arguments in the heading).',
      );
      continue;
    }
    const documentedNames = new Set(doc.options.map((o) => o.name));
    for (const option of cmd.options) {
      const missing = option.names.filter((n) => !documentedNames.has(n));
      if (missing.length > 0)
        problems.push(
          `\`${show(cmd.path)}\` has the option \`${option.flags}\` (${missing.join(', ')} not documented). ` +
            `Add a row to the options table under ${doc.file}:${doc.heading.line} ${'#'.repeat(doc.heading.level)} ${doc.heading.raw}` +
            `${doc.options.length === 0 ? ' (create the table: | option | meaning |)' : ''}:\n\n    ${optionRow(option)}`,
        );
    }
    const known = new Set([...cmd.options.flatMap((o) => o.names), ...HELP_NAMES]);
    for (const o of doc.options.filter((d) => !known.has(d.name)))
      problems.push(
        `${o.file}:${o.line} lists the option \`${o.name}\` for \`${show(cmd.path)}\`, which \`${show(cmd.path)} --help\` ` +
          `does not list: remove the row or fix its name (its options: ${cmd.options.map((c) => c.flags).join(', ') || 'none'}).`,
      );
  }
  return problems;
}

function checkGlobalOptions(root: CliCommand, files: MarkdownFile[]): string[] {
  const documented = globalOptionsDocumented(files);
  if (!documented)
    return [
      'No "Global options" section: add one to README.md with a table headed | option | meaning | listing ' +
        `${root.options.map((o) => `\`${o.flags}\``).join(', ')}.`,
    ];
  const names = new Set(documented.map((d) => d.name));
  const problems = root.options
    .filter((o) => o.names.some((n) => !names.has(n)))
    .map(
      (o) =>
        `The global option \`${o.flags}\` is not in the "Global options" table (${documented[0]?.file ?? 'README.md'}). ` +
        `Add a row:\n\n    ${optionRow(o)}`,
    );
  const known = new Set(root.options.flatMap((o) => o.names));
  for (const d of documented.filter((o) => !known.has(o.name)))
    problems.push(
      `${d.file}:${d.line} lists the global option \`${d.name}\`, which \`chatbot-ops --help\` does not list: remove the row or fix its name.`,
    );
  return problems;
}

/** Shell-like words of a command line; stops at a comment, a pipe or a command separator. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(
    /'[^']*'|"(?:\\.|[^"\\])*"|[^\s'"]+(?:(?:'[^']*'|"(?:\\.|[^"\\])*")[^\s'"]*)*/g,
  )) {
    const word = m[0];
    if (/^(#|\||\|\||&&|;|>|2>|<<?)/.test(word)) break;
    out.push(word.replace(/^(['"])(.*)\1$/, '$2'));
  }
  return out;
}

/** A problem with one written command line, if any: an unknown command or option. */
export function checkCommandLine(root: CliCommand, argv: string[]): string | undefined {
  let cmd = root;
  const scope = [root];
  let sawArgument = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') return undefined;
    if (word.startsWith('-') && word !== '-') {
      const name = word.split('=')[0] as string;
      if (HELP_NAMES.includes(name)) continue;
      const option = scope.flatMap((c) => c.options).find((o) => o.names.includes(name));
      if (!option) {
        const known = cmd.options.map((o) => o.flags).join(', ') || 'none';
        return `\`${name}\` is not an option of \`${show(cmd.path)}\` (its options: ${known}; global ones: see README.md "Global options")`;
      }
      if (option.takesValue && !word.includes('=')) i++;
      continue;
    }
    if (cmd.children.length > 0 && !sawArgument) {
      const child = cmd.children.find((c) => c.path.at(-1) === word);
      if (child) {
        cmd = child;
        scope.push(child);
        continue;
      }
      if (/^[a-z][a-z0-9-]*$/.test(word))
        return `\`${show([...cmd.path, word])}\` is not a command (${cmd.path.length ? `\`${show(cmd.path)}\` has` : 'the commands are'}: ${cmd.children.map((c) => c.path.at(-1)).join(', ')})`;
      return undefined;
    }
    sawArgument = true;
  }
  return undefined;
}

const INVOCATION = /(?:^|[\s(|;&$])(?:\.\/bin\/chatbot-ops\.js|chatbot-ops)(?=\s|$)/g;

/** Every command line written in code in the file, with its line number. */
export function commandLinesOf(text: string): Array<{ argv: string[]; line: number; source: string }> {
  const found: Array<{ argv: string[]; line: number; source: string }> = [];
  for (const line of linesOf(text)) {
    // A section heading names a command without arguments; checkSections judges it.
    if (!line.inFence && COMMAND_HEADING.test(line.text)) continue;
    const pieces = line.inFence ? [line.text] : inlineCode(line.text);
    for (const piece of pieces) {
      for (const m of piece.matchAll(INVOCATION)) {
        const rest = piece.slice((m.index ?? 0) + m[0].length);
        found.push({ argv: words(rest), line: line.number, source: piece.trim() });
      }
    }
  }
  return found;
}

function checkCommandLines(root: CliCommand, files: MarkdownFile[]): string[] {
  return files.flatMap((file) =>
    commandLinesOf(file.text).flatMap(({ argv, line, source }) => {
      const problem = checkCommandLine(root, argv);
      return problem ? [`${file.path}:${line}: ${problem}, in: ${source}`] : [];
    }),
  );
}

/** Every disagreement between --help and the docs, as messages saying what to change where. */
export function helpDocsProblems(root: CliCommand, files: MarkdownFile[]): string[] {
  const inDocs = documentedCommands(files.filter((f) => f.path.startsWith('docs/')));
  const elsewhere = documentedCommands(files.filter((f) => !f.path.startsWith('docs/'))).map((d) => {
    const there = inDocs.find((doc) => samePath(doc.path, d.path));
    return (
      `${d.file}:${d.heading.line} has a section for \`${show(d.path)}\`: the command reference lives in docs/; ` +
      (there
        ? `it is at ${there.file}:${there.heading.line}, so remove this one and link there.`
        : `move it to ${suggestedFile(d.path, inDocs)} and link to it from here.`)
    );
  });
  return [
    ...elsewhere,
    ...checkSections(root, inDocs),
    ...checkGlobalOptions(root, files),
    ...checkCommandLines(root, files),
  ];
}

/** Where the config's fields are documented: the `field` table under this heading. */
export const CONFIG_TABLE = { file: 'docs/deploy.md', heading: 'The config file' };

/**
 * The fields the config table names. A first cell holds one or more in backticks; a field written
 * `.timeout` belongs to the section of the full one before it (`function.memory` / `.timeout`).
 */
export function documentedConfigFields(files: MarkdownFile[]): string[] {
  const file = files.find((f) => f.path === CONFIG_TABLE.file);
  const heading = file && headingsOf(file.text).find((h) => h.raw.startsWith(CONFIG_TABLE.heading));
  if (!file || !heading) return [];
  return tableRows(sectionLines(file.text, heading), 'field').flatMap((row) => {
    let section = '';
    return inlineCode(tableCells(row.text)[0] ?? '').map((code) => {
      if (code.startsWith('.')) return `${section}${code}`;
      section = code.includes('.') ? code.slice(0, code.indexOf('.')) : code;
      return code;
    });
  });
}

/** Config fields the table lacks, and fields it names that the config does not accept. */
export function configDocsProblems(fields: string[], files: MarkdownFile[]): string[] {
  const documented = documentedConfigFields(files);
  const where = `the config table of ${CONFIG_TABLE.file} ("${CONFIG_TABLE.heading} ...")`;
  return [
    ...fields
      .filter((f) => !documented.includes(f))
      .map((f) => `The config field \`${f}\` is not in ${where}: add a row with its default and meaning.`),
    ...documented
      .filter((f) => !fields.includes(f))
      .map((f) => `${where} lists \`${f}\`, which the config does not accept: remove it or fix its name.`),
  ];
}

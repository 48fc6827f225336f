/**
 * Links in README.md and docs/*.md: every relative link resolves to a file in the repository, and
 * every #anchor to a heading GitHub renders in the target file.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  anchorsOf,
  githubSlug,
  headingsOf,
  linksOf,
  type MarkdownFile,
  REPO_ROOT,
  readProjectDocs,
} from './markdown.js';

/** Problems with the relative links of `files`, each naming the file, line and target. */
function linkProblems(files: MarkdownFile[], root: string): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const link of linksOf(file.text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith('//')) continue;
      const [pathPart = '', anchor] = link.target.split('#', 2);
      const relative = pathPart
        ? posix.normalize(posix.join(posix.dirname(file.path), decodeURI(pathPart)))
        : file.path;
      const where = `${file.path}:${link.line}: (${link.target})`;
      if (relative.startsWith('..') || !existsSync(join(root, relative))) {
        problems.push(`${where} points at ${relative}, which does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!relative.endsWith('.md')) {
        problems.push(`${where} has an anchor, but ${relative} is not a Markdown file`);
        continue;
      }
      const anchors = anchorsOf(readFileSync(join(root, relative), 'utf8'));
      if (!anchors.has(decodeURIComponent(anchor)))
        problems.push(
          `${where}: ${relative} has no heading with the anchor #${anchor} (its anchors: ${[...anchors].map((a) => `#${a}`).join(' ')})`,
        );
    }
  }
  return problems;
}

describe('links in README.md and docs/', () => {
  it('every relative link and anchor resolves', () => {
    const problems = linkProblems(readProjectDocs(), REPO_ROOT);

    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });
});

describe('the link check itself', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function repo(files: Record<string, string>): MarkdownFile[] {
    dir = mkdtempSync(join(tmpdir(), 'links-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return Object.entries(files)
      .filter(([path]) => path.endsWith('.md'))
      .map(([path, text]) => ({ path, text }));
  }

  it('makes anchors as GitHub does', () => {
    expect(githubSlug('The config file (`chatbot-ops.config.json`)')).toBe(
      'the-config-file-chatbot-opsconfigjson',
    );
    expect(githubSlug('`chatbot-ops db load`')).toBe('chatbot-ops-db-load');
    expect(githubSlug('Before you start: credentials, region, database')).toBe(
      'before-you-start-credentials-region-database',
    );
    expect(githubSlug('AWS calls made by `deploy`, `status` and `destroy`')).toBe(
      'aws-calls-made-by-deploy-status-and-destroy',
    );
    expect(githubSlug('Größe & **Zeit**')).toBe('größe--zeit');
    expect(headingsOf('# A\n## A\n```\n# not a heading\n```\n### A').map((h) => h.slug)).toEqual([
      'a',
      'a-1',
      'a-2',
    ]);
  });

  it('passes links that resolve, and skips external ones and code', () => {
    const files = repo({
      'README.md': [
        '# Top',
        '[ok](docs/a.md#a-section) [self](#top) [dir](docs) [web](https://example.com/x#y) [mail](mailto:a@b.c)',
        '`[not a link](nowhere.md)`',
        '```',
        '[also not](nowhere.md)',
        '```',
        '[ref]: docs/a.md',
      ].join('\n'),
      'docs/a.md': '# A\n## A section\n[back](../README.md#top)\n',
    });

    expect(linkProblems(files, dir as string)).toEqual([]);
  });

  it('names a missing file, a missing anchor and an anchor on a non-Markdown file', () => {
    const files = repo({
      'README.md':
        '# Top\n[a](docs/missing.md)\n[b](docs/a.md#no-such)\n[c](#nope)\n[d](src.ts#L3)\n[e](../outside.md)\n',
      'docs/a.md': '# A\n',
      'src.ts': '',
    });

    expect(linkProblems(files, dir as string)).toEqual([
      'README.md:2: (docs/missing.md) points at docs/missing.md, which does not exist',
      'README.md:3: (docs/a.md#no-such): docs/a.md has no heading with the anchor #no-such (its anchors: #a)',
      'README.md:4: (#nope): README.md has no heading with the anchor #nope (its anchors: #top)',
      'README.md:5: (src.ts#L3) has an anchor, but src.ts is not a Markdown file',
      'README.md:6: (../outside.md) points at ../outside.md, which does not exist',
    ]);
  });
});

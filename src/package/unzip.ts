/** Unpack a deployment zip, as Lambda does into /var/task before the runtime loads the handler. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import yauzl from 'yauzl';

function readEntry(zipfile: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolveRead, reject) => {
    zipfile.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error(`cannot read ${entry.fileName}`));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('end', () => resolveRead(Buffer.concat(chunks)));
    });
  });
}

/** Extract every file of `zip` under `dir`; returns the names written, in zip order. */
export async function unzipToDir(zip: Buffer, dir: string): Promise<string[]> {
  const root = resolve(dir);
  const zipfile = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, z) => (err || !z ? rej(err) : res(z))),
  );
  const names: string[] = [];
  await new Promise<void>((done, fail) => {
    zipfile.on('error', fail);
    zipfile.on('end', () => done());
    zipfile.on('entry', (entry: yauzl.Entry) => {
      const target = resolve(root, entry.fileName);
      // yauzl rejects absolute and ../ names already; this guards the join as well.
      if (!target.startsWith(root + sep))
        return fail(new Error(`zip entry escapes the folder: ${entry.fileName}`));
      if (entry.fileName.endsWith('/')) {
        mkdirSync(target, { recursive: true });
        zipfile.readEntry();
        return;
      }
      readEntry(zipfile, entry).then((data) => {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, data);
        names.push(entry.fileName);
        zipfile.readEntry();
      }, fail);
    });
    zipfile.readEntry();
  });
  return names.map((n) => join(n));
}

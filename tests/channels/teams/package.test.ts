/**
 * The Teams app package: `intake teams package` writes a zip holding manifest.json with the app id filled
 * in and both icons (valid PNGs of the sizes Teams requires). The zip is read back here with node:zlib.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTeamsPackage, teamsManifest } from '../../../src/channels/teams/package.js';
import { crc32 } from '../../../src/channels/teams/zip.js';
import { registerTeamsCommands } from '../../../src/cli/teams.js';

const APP_ID = '6a1f9c7e-2b4d-4e8f-9a3c-5d7e1f2a4b6c';

/** Reads a zip through its central directory; checks each entry's CRC. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data =
      method === 8 ? inflateRawSync(zip.subarray(start, start + size)) : zip.subarray(start, start + size);
    expect(crc32(data)).toBe(crc);
    files.set(name, data);
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

// biome-ignore lint/suspicious/noExplicitAny: manifest JSON
type Json = any;
// CommonJS packages: their default export is the module object's `default` under NodeNext typing.
const Ajv = AjvDraft04Module.default;
const addFormats = addFormatsModule.default;

/**
 * Microsoft's schema of the manifest version a manifest declares, from `@microsoft/app-manifest` (which
 * ships every published schema): draft-04 JSON Schema, checked with every error reported.
 */
function schemaCheck(manifest: Json): string[] {
  const version = String(manifest.manifestVersion);
  expect(manifest.$schema).toBe(
    `https://developer.microsoft.com/en-us/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`,
  );
  const file = join(
    'node_modules/@microsoft/app-manifest/build/json-schemas/teams',
    `v${version}`,
    'MicrosoftTeams.schema.json',
  );
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')));
  if (validate(manifest)) return [];
  return (validate.errors ?? []).map(
    (e: { instancePath: string; message?: string }) => `${e.instancePath || '/'} ${e.message}`,
  );
}

describe('Teams app package', () => {
  const saved = process.env.MicrosoftAppId;
  afterEach(() => {
    if (saved === undefined) delete process.env.MicrosoftAppId;
    else process.env.MicrosoftAppId = saved;
  });

  it('`intake teams package` writes the zip with the app id and both icons', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teams-pkg-'));
    const out = join(dir, 'app.zip');
    process.env.MicrosoftAppId = APP_ID;
    const program = new Command().exitOverride();
    registerTeamsCommands(program);
    await program.parseAsync(['teams', 'package', '--out', out], { from: 'user' });
    const files = unzip(readFileSync(out));
    expect([...files.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.bots[0].botId).toBe(APP_ID);
    expect(manifest.bots[0].scopes).toEqual(['personal']);
    expect(manifest.manifestVersion).toBe('1.19');
    expect(manifest.$schema).toContain('/v1.19/MicrosoftTeams.schema.json');
    expect(JSON.stringify(manifest)).not.toContain('{{');
    expect(manifest.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(pngSize(files.get('color.png')!)).toEqual({ width: 192, height: 192 });
    expect(pngSize(files.get('outline.png')!)).toEqual({ width: 32, height: 32 });
    expect(manifest.name.short.length).toBeLessThanOrEqual(30);
    expect(manifest.description.short.length).toBeLessThanOrEqual(80);
  });

  it("passes Microsoft's manifest schema of the version it declares, with and without a public address", () => {
    const plain = JSON.parse(teamsManifest(APP_ID));
    expect(schemaCheck(plain)).toEqual([]);
    expect(plain.validDomains).toEqual([]);
    const withUrl = JSON.parse(teamsManifest(APP_ID, { publicUrl: 'https://intake.example.org/' }));
    expect(schemaCheck(withUrl)).toEqual([]);
    // Teams opens the dialog (the web flow) only on a domain the package lists.
    expect(withUrl.validDomains).toEqual(['intake.example.org']);
    // Not https: the page could not be opened by Teams, nothing is listed.
    expect(
      JSON.parse(teamsManifest(APP_ID, { publicUrl: 'http://intake.example.org' })).validDomains,
    ).toEqual([]);
  });

  it('the schema check catches what Teams refuses at upload (it can fail)', () => {
    const manifest = JSON.parse(teamsManifest(APP_ID));
    manifest.developer.name = 'Coordination du protocole de Seine-Saint-Denis'; // 46 characters: over 32
    expect(schemaCheck(manifest)).toEqual(['/developer/name must NOT have more than 32 characters']);
  });

  it('`intake teams package --public-url` lists the domain; a non-https address is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teams-pkg-'));
    const out = join(dir, 'app.zip');
    const program = new Command().exitOverride();
    registerTeamsCommands(program);
    await program.parseAsync(
      [
        'teams',
        'package',
        '--app-id',
        APP_ID,
        '--public-url',
        'https://signalement.example.fr',
        '--out',
        out,
      ],
      { from: 'user' },
    );
    const manifest = JSON.parse(unzip(readFileSync(out)).get('manifest.json')!.toString('utf8'));
    expect(manifest.validDomains).toEqual(['signalement.example.fr']);
    const again = new Command().exitOverride();
    registerTeamsCommands(again);
    await expect(
      again.parseAsync(
        ['teams', 'package', '--app-id', APP_ID, '--public-url', 'http://x.example', '--out', out],
        {
          from: 'user',
        },
      ),
    ).rejects.toThrow(/https/);
  });

  it('refuses an app id that is not a GUID', () => {
    expect(() => buildTeamsPackage('not-a-guid')).toThrow(/GUID/);
  });

  it('needs an app id', async () => {
    delete process.env.MicrosoftAppId;
    const program = new Command().exitOverride();
    registerTeamsCommands(program);
    await expect(program.parseAsync(['teams', 'package'], { from: 'user' })).rejects.toThrow(
      /app id is required/,
    );
  });
});

/**
 * CPU cost of sealing one report to five coordinators (the common inbox size), measured with
 * process.cpuUsage over many iterations so scheduler noise averages out. Target: <= 2 ms per report.
 *
 * Run: node --import tsx bench/crypto.ts [iterations] [--check]
 * With --check the exit code is 1 when the target is missed (for a quiet machine; CI runners are noisy).
 */
import {
  deriveSubkeys,
  generateCoordinatorKeyPair,
  generateMasterKey,
  hashUserId,
  initCrypto,
  openReport,
  parseMasterKey,
  sealReport,
  sealState,
} from '../src/crypto/index.js';

const TARGET_MS = 2;
const args = process.argv.slice(2);
const check = args.includes('--check');
const iterations = Number(args.find((a) => a !== '--check') ?? 2000);
if (!Number.isInteger(iterations) || iterations < 1) {
  console.error('usage: node --import tsx bench/crypto.ts [iterations] [--check]');
  process.exit(2);
}

await initCrypto();

const coordinators = Array.from({ length: 5 }, (_, i) => ({
  id: `coordinator-${i + 1}`,
  ...generateCoordinatorKeyPair(),
}));
const recipients = coordinators.map((c) => ({ coordinatorId: c.id, publicKey: c.publicKey }));
// A realistic report: a dozen structured answers plus two free-text fields (~2 KB of JSON).
const payload = {
  flow: 'professional-concern',
  flowVersion: 3,
  submittedAt: '2024-05-02T09:41:00Z',
  answers: {
    role: 'school-nurse',
    establishment: 'Collège Jean Moulin',
    ageRange: '13-15',
    signs: ['absences', 'new-phone', 'older-contacts', 'gifts', 'night-outings'],
    immediateDanger: false,
    parentsInformed: 'no',
    alreadyReported: 'unknown',
    description: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20),
    context: 'Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '.repeat(6),
    callbackWanted: true,
  },
};

function measure(label: string, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(i); // warm-up (JIT, WebAssembly tiers)
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) fn(i);
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000 / iterations;
  console.log(`${label.padEnd(40)} ${ms.toFixed(3)} ms CPU per op  (${iterations} iterations)`);
  return ms;
}

const sealMs = measure('sealReport, 5 coordinators', (i) => {
  sealReport({ reportId: `r-${i}`, payload, recipients });
});
const sealed = sealReport({ reportId: 'r-open', payload, recipients });
const first = coordinators[0]!;
const mine = sealed.keys.find((k) => k.coordinatorId === first.id)!;
measure('openReport (one coordinator)', () => {
  openReport(
    { reportId: 'r-open', nonce: sealed.nonce, ciphertext: sealed.ciphertext, sealedKey: mine.sealedKey },
    first,
  );
});
const keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
measure('hashUserId', (i) => {
  hashUserId(keys, 'telegram', String(100000 + i));
});
measure('sealState (1 KB)', (i) => {
  sealState(
    keys,
    'telegram',
    String(100000 + i),
    JSON.stringify({ step: 'q7', answers: payload.answers }).slice(0, 1024),
  );
});

const ok = sealMs <= TARGET_MS;
console.log(`sealReport target <= ${TARGET_MS} ms: ${ok ? 'met' : 'NOT met'}`);
if (check && !ok) process.exitCode = 1;

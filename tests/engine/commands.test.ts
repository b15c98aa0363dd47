import { describe, expect, it } from 'vitest';
import { isEmergencyWord, normalize, parseCommand } from '../../src/engine/index.js';

describe('parseCommand', () => {
  it.each([
    ['/aide', 'help'],
    ['/HELP', 'help'],
    ['/urgence', 'emergency'],
    ['/Emergency', 'emergency'],
    ['/effacer', 'erase'],
    ['/erase', 'erase'],
    ['/recommencer', 'restart'],
    ['/restart', 'restart'],
    ['/langue', 'language'],
    ['/language', 'language'],
    ['/suivi', 'followUp'],
    ['/followup', 'followUp'],
    ['/follow-up', 'followUp'],
    ['/stop', 'stop'],
    ['/arrêter', 'stop'],
    ['/passer', 'skip'],
    ['/skip', 'skip'],
    ['/démarrer', 'start'],
    ['/Aide@IntakeBot', 'help'],
  ])('%s is %s', (text, name) => {
    expect(parseCommand(text)?.name).toBe(name);
  });
  it('keeps the argument', () => {
    expect(parseCommand('/langue  EN ')).toEqual({ name: 'language', arg: 'EN' });
    expect(parseCommand('/suivi abcd-efgh')).toEqual({ name: 'followUp', arg: 'abcd-efgh' });
  });
  it('returns undefined for plain text and null for an unknown command', () => {
    expect(parseCommand('aide')).toBeUndefined();
    expect(parseCommand('/teleport')).toBeNull();
  });
});

describe('emergency words', () => {
  it.each([
    'urgence',
    'URGENCE !',
    'Danger',
    'sos',
    'SOS!!',
    'aide-moi',
    'Aide moi !',
    'AIDEZ-MOI',
    'aidez moi...',
    'à l’aide',
    "A l'aide !!!",
    'Au secours',
    'au secours…',
    '« SOS »',
    'help me!',
    'Emergency?',
  ])('%s shows the card', (t) => {
    expect(isEmergencyWord(t)).toBe(true);
  });
  it.each([
    'il y a un danger',
    'urgences pédiatriques',
    'ok',
    'aide',
    'elle m’aide',
    'aide-moi à comprendre',
    'au secours de mon amie',
  ])('%s does not', (t) => {
    expect(isEmergencyWord(t)).toBe(false);
  });
  it('normalize strips accents, case and extra spaces', () => {
    expect(normalize('  Aujourd’HUI   Élève ')).toBe("aujourd'hui eleve");
  });
});

/**
 * The read parser against a table of cases built from the rules (DOMAIN.md "What a scanner sends", GS1
 * General Specifications): inputs, envelopes, symbologies, element strings, checks, Digital Link, human-readable.
 */
import { type ParseOptions, type ParsedRead, gs1CheckDigit, parseRead } from '../../gateway/parse/index.js';
import type { ReasonName } from '../../gateway/reasons.js';
import { assert, suite } from '../helpers/uvu.js';

const TEST_TIMEOUT_MS = 5_000;
const test = suite('parse', {}, TEST_TIMEOUT_MS);

const GS = '\x1d';
const G = '09520123456788';
const SSCC = '095201234567890122';
const key = (body: string): string => body + gs1CheckDigit(body);
const GLN = key('952012345678');
const G13 = G.slice(1);
const G12 = key('03600029145');
const G8 = key('9638507');

type Fields = Partial<Omit<ParsedRead, 'ok'>>;
type Want = { ok: Fields } | { reason: ReasonName; message?: string; ai?: string };
interface Case {
  name: string;
  input: string;
  want: Want;
  opts?: ParseOptions;
}

const c = (name: string, input: string, want: Want, opts?: ParseOptions): Case => (opts === undefined ? { name, input, want } : { name, input, want, opts });
const okWith = (fields: Fields): Want => ({ ok: fields });
const bad = (reason: ReasonName, message?: string, ai?: string): Want => {
  const w: { reason: ReasonName; message?: string; ai?: string } = { reason };
  if (message !== undefined) w.message = message;
  if (ai !== undefined) w.ai = ai;
  return w;
};

const DM = `]d201${G}1727033110LOT-A1${GS}21S3R!AL%x7`;
const DM_FIELDS: Fields = { gtin: G, expiry: '2027-03-31', lot: 'LOT-A1', serial: 'S3R!AL%x7', symbology: ']d2', form: 'element' };

const CASES: Case[] = [
  // Inputs, separators, envelopes.
  c('DataMatrix example', DM, okWith({ ...DM_FIELDS, ais: { '01': G, '17': '270331', '10': 'LOT-A1', '21': 'S3R!AL%x7' } })),
  c('SSCC example', `]C100${SSCC}`, okWith({ sscc: SSCC, symbology: ']C1', ais: { '00': SSCC } })),
  c('no AIM id', DM.slice(3), okWith({ ...DM_FIELDS, symbology: undefined })),
  c('GS substitute ^', DM.replace(GS, '^'), okWith(DM_FIELDS), { gsSubstitute: '^' }),
  c('GS substitute ~', DM.replace(GS, '~'), okWith(DM_FIELDS), { gsSubstitute: '~' }),
  c('GS substitute |', DM.replace(GS, '|'), okWith(DM_FIELDS), { gsSubstitute: '|' }),
  c('GS substitute #', DM.replace(GS, '#'), okWith(DM_FIELDS), { gsSubstitute: '#' }),
  c('real GS still works with a substitute', DM, okWith(DM_FIELDS), { gsSubstitute: '^' }),
  c('substitute not configured', DM.replace(GS, '#'), bad('MALFORMED', "AI 10 contains '#' which is not in GS1 character set 82", '10')),
  c('ISO 15434 envelope', `]d2[)>\x1e05${GS}01${G}17270331${GS}21S1\x1e\x04`, okWith({ gtin: G, serial: 'S1', expiry: '2027-03-31' })),
  c('ISO 15434 envelope in plain DataMatrix', `]d1[)>\x1e05${GS}01${G}21S1\x1e\x04`, okWith({ gtin: G, serial: 'S1', symbology: ']d1' })),
  c('ISO 15434 envelope without EOT', `[)>\x1e05${GS}01${G}21S1\x1e`, okWith({ serial: 'S1' })),
  c('ISO 15434 format 06', `[)>\x1e06${GS}01${G}\x1e\x04`, bad('MALFORMED', 'ISO/IEC 15434 format 06 is not GS1 data (only format 05 is)')),
  c('ISO 15434 unterminated', `[)>\x1e05${GS}01${G}`, bad('MALFORMED', 'ISO/IEC 15434 envelope does not end with RS EOT')),
  c('trailing CR LF', `${DM}\r\n`, okWith(DM_FIELDS)),
  c('leading GS', `]d2${GS}01${G}21X`, okWith({ gtin: G, serial: 'X' })),
  c('trailing GS', `01${G}21X${GS}`, okWith({ gtin: G, serial: 'X' })),
  c('superfluous GS after predefined-length AI', `01${G}${GS}17270331${GS}21X`, okWith({ gtin: G, serial: 'X', expiry: '2027-03-31' })),
  c('repeated GS', `01${G}10L${GS}${GS}${GS}21X`, okWith({ lot: 'L', serial: 'X' })),
  c('free AI order', `21X${GS}17270331${GS}10L${GS}01${G}`, okWith({ gtin: G, serial: 'X', lot: 'L', expiry: '2027-03-31' })),
  // Symbologies.
  c('GS1 QR ]Q3', `]Q301${G}21X`, okWith({ symbology: ']Q3', serial: 'X' })),
  c('GS1 DataBar ]e0', `]e001${G}17270331`, okWith({ symbology: ']e0', expiry: '2027-03-31' })),
  c('GS1 DotCode ]J1', `]J101${G}21X`, okWith({ symbology: ']J1' })),
  c('Code 39 refused', ']A0123456', bad('SYMBOLOGY_NOT_ALLOWED', 'symbology ]A0 (Code 39) is not allowed at this station')),
  c('EAN-13 refused', `]E0${G13}`, bad('SYMBOLOGY_NOT_ALLOWED')),
  c('plain Code 128 refused', `]C001${G}`, bad('SYMBOLOGY_NOT_ALLOWED')),
  c('plain DataMatrix with element string refused', `]d101${G}21X`, bad('SYMBOLOGY_NOT_ALLOWED', ']d1 (Data Matrix) is allowed only for a GS1 Digital Link URI')),
  c('plain QR with text refused', ']Q1hello', bad('SYMBOLOGY_NOT_ALLOWED')),
  c('required AIM id missing', `01${G}`, bad('SYMBOLOGY_NOT_ALLOWED'), { requireSymbology: true }),
  c('required AIM id present', `]d201${G}`, okWith({ gtin: G }), { requireSymbology: true }),
  c('station allows ]d2 only', `]C101${G}`, bad('SYMBOLOGY_NOT_ALLOWED'), { allowedSymbologies: [']d2'] }),
  c('station allows ]d2 only: no Digital Link', `]Q1https://id.example.com/01/${G}`, bad('SYMBOLOGY_NOT_ALLOWED'), { allowedSymbologies: [']d2'] }),
  c('GS1 DataMatrix carrying a URI', `]d2https://id.example.com/01/${G}`, bad('MALFORMED')),
  c('incomplete AIM id', ']d', bad('MALFORMED')),
  // Check digits.
  c('GTIN check digit', `01${G.slice(0, 13)}7`, bad('BAD_CHECK_DIGIT', 'GTIN 09520123456787 has check digit 7, expected 8', '01')),
  c('SSCC check digit', `00${SSCC.slice(0, 17)}3`, bad('BAD_CHECK_DIGIT', 'SSCC 095201234567890123 has check digit 3, expected 2', '00')),
  c('GLN check digit (AI 414)', `01${G}414${GLN.slice(0, 12)}${(Number(GLN[12]) + 1) % 10}`, bad('BAD_CHECK_DIGIT', undefined, '414')),
  c('GLN valid (AI 410)', `00${SSCC}410${GLN}`, okWith({ ais: { '00': SSCC, '410': GLN } })),
  c('GMN check character pair', `01${G}80131987654Ad4X4bL5ttr2310c2K`, okWith({ gtin: G })),
  c('GMN wrong check character pair', `01${G}80131987654Ad4X4bL5ttr2310c2J`, bad('BAD_CHECK_DIGIT', 'AI 8013 GMN 1987654Ad4X4bL5ttr2310c2J has check characters 2J, expected 2K')),
  // Dates.
  c('month 13', `01${G}17271331`, bad('BAD_DATE', 'AI 17 month 13 is not 01-12', '17')),
  c('month 00', `01${G}17270031`, bad('BAD_DATE', 'AI 17 month 00 is not 01-12')),
  c('31 April', `01${G}17270431`, bad('BAD_DATE', 'AI 17 day 31 is not valid in 2027-04 (30 days)')),
  c('29 February, not a leap year', `01${G}17270229`, bad('BAD_DATE')),
  c('29 February, leap year', `01${G}17280229`, okWith({ expiry: '2028-02-29' })),
  c('DD=00 accepted: last day of month', `01${G}17280200`, okWith({ expiry: '2028-02-29', expiryDayUnspecified: true, warnings: undefined })),
  c('DD=00 in a 30-day month', `01${G}17270400`, okWith({ expiry: '2027-04-30', expiryDayUnspecified: true })),
  c('DD=00 in December', `01${G}17271200`, okWith({ expiry: '2027-12-31' })),
  c('DD=00 under warn', `01${G}17280200`, okWith({ expiry: '2028-02-29', warnings: ['AI 17 280200 has day 00 (no day given): expiry read as 2028-02-29, the last day of the month'] }), { dd00Policy: 'warn' }),
  c('DD=00 under reject', `01${G}17280200`, bad('BAD_DATE', 'AI 17 day 00 (no day given) is refused by the DD=00 policy', '17'), { dd00Policy: 'reject' }),
  c('DD=00 in production date under reject', `01${G}11280200`, bad('BAD_DATE'), { dd00Policy: 'reject' }),
  c('DD=00 in production date under warn', `01${G}11280200`, okWith({ warnings: ['AI 11 280200 has day 00 (no day given)'], expiry: undefined }), { dd00Policy: 'warn' }),
  c('DD=00 not allowed in a yymmdd AI (7006)', `01${G}7006270300`, bad('BAD_DATE', 'AI 7006 day 00 is not allowed (a real day is required)')),
  c('century: YY-cur >= 51 is the previous century', `01${G}17991231`, okWith({ expiry: '1999-12-31' }), { currentYear: 2026 }),
  c('century: diff 50 is the current century', `01${G}17760101`, okWith({ expiry: '2076-01-01' }), { currentYear: 2026 }),
  c('century: diff 51 is the previous century', `01${G}17770101`, okWith({ expiry: '1977-01-01' }), { currentYear: 2026 }),
  c('century: diff -50 is the next century', `01${G}17300101`, okWith({ expiry: '2130-01-01' }), { currentYear: 2080 }),
  c('century: diff -49 is the current century', `01${G}17310101`, okWith({ expiry: '2031-01-01' }), { currentYear: 2080 }),
  c('7003 expiry time', `01${G}70032703311530`, okWith({ ais: { '01': G, '7003': '2703311530' } })),
  c('7003 hour 25', `01${G}70032703312530`, bad('BAD_DATE', 'AI 7003 hour 25 is not 00-23')),
  // Character sets and lengths.
  c('serial 21 characters', `01${G}21ABCDEFGHIJKLMNOPQRSTU`, bad('MALFORMED', 'AI 21 is 21 characters, max 20', '21')),
  c('serial 20 characters', `01${G}21ABCDEFGHIJKLMNOPQRST`, okWith({ serial: 'ABCDEFGHIJKLMNOPQRST' })),
  c('space in lot', `01${G}10A B`, bad('MALFORMED', 'AI 10 contains <space> which is not in GS1 character set 82', '10')),
  c('byte above 127', `01${G}21S\xe9`, bad('MALFORMED', 'AI 21 contains <0xE9> which is not in GS1 character set 82')),
  c('char above 255', `01${G}21S\u20ac`, bad('MALFORMED', 'AI 21 contains <U+20AC> which is not in GS1 character set 82')),
  c('every set-82 character', `01${G}21!"%&'()*+,-./0123${GS}10:;<=>?AZ_az`, okWith({ serial: `!"%&'()*+,-./0123`, lot: ':;<=>?AZ_az' })),
  c('letter in GTIN', `01${G.slice(0, 10)}A788`, bad('MALFORMED', "AI 01 contains 'A' which is not a digit", '01')),
  c('truncated GTIN', `01${G.slice(0, 13)}`, bad('MALFORMED', 'AI 01 is 13 digits, expected 14', '01')),
  c('GS inside a predefined-length AI', `01${G}17270${GS}21X`, bad('MALFORMED', 'AI 17 is 3 digits, expected 6', '17')),
  c('empty variable AI', `01${G}10${GS}21X`, bad('MALFORMED', 'AI 10 is empty', '10')),
  c('CPID in set 39', `01${G}8010ABC-#/12`, okWith({ ais: { '01': G, '8010': 'ABC-#/12' } })),
  c('CPID outside set 39', `01${G}8010abc`, bad('MALFORMED', "AI 8010 contains 'a' which is not in GS1 character set 39")),
  c('fixed-length AI missing its GS', `01${G}4223801`, bad('MALFORMED', 'AI 422 is 4 digits, expected 3', '422')),
  c('7007 harvest date of 8 digits', `01${G}700727010112`, bad('MALFORMED', 'AI 7007 is 8 digits, expected 6 or 12')),
  c('8006 piece of total', `8006${G}0302${GS}00${SSCC}`, bad('MALFORMED', 'AI 8006 piece 3 of total 2 is not valid')),
  // Syntax.
  c('empty read', '', bad('MALFORMED', 'empty read')),
  c('CR LF only', '\r\n', bad('MALFORMED', 'empty read')),
  c('AIM id only', ']d2', bad('MALFORMED', 'no data after symbology identifier ]d2')),
  c('GS only', `]d2${GS}${GS}`, bad('MALFORMED', 'the read holds no AI')),
  c('unknown AI prefix', `01${G}89123`, bad('MALFORMED', 'unknown AI 89 at position 16', '89')),
  c('unassigned AI 14', `]d201${G}14270101`, bad('MALFORMED', 'unknown AI 14 at position 19', '14')),
  c('unassigned decimal variant 3106', `01${G}3106000189`, bad('MALFORMED', 'unknown AI 3106 at position 16', '3106')),
  c('letters where an AI should be', `01${G}X1`, bad('MALFORMED', "expected an AI at position 16, found 'X'")),
  c('read ends inside an AI', `01${G}2`, bad('MALFORMED')),
  c('repeated AI with the same value', `01${G}21X${GS}01${G}`, okWith({ gtin: G, serial: 'X' })),
  c('repeated AI with another value', `01${G}21X${GS}21Y`, bad('MALFORMED', "AI 21 appears twice with different values ('X' and 'Y')", '21')),
  // Pairing.
  c('serial without GTIN', '21SERIAL', bad('MISSING_AI', 'AI 21 (SERIAL) requires AI 01 (or 8006) in the same read', '21')),
  c('lot without GTIN', '10LOT', bad('MISSING_AI', undefined, '10')),
  c('expiry without GTIN', '17270331', bad('MISSING_AI', undefined, '17')),
  c('nothing identifying', '400ORDER', bad('MISSING_AI', 'the read carries no GTIN (AI 01) and no SSCC (AI 00)')),
  c('02 without 37', `00${SSCC}02${G}`, bad('MISSING_AI', undefined, '02')),
  c('37 without 02', `00${SSCC}37100`, bad('MISSING_AI', undefined, '37')),
  c('logistic label: 00 02 37 10 17', `00${SSCC}02${G}37100${GS}10L${GS}17270331`, okWith({ sscc: SSCC, lot: 'L', expiry: '2027-03-31', gtin: undefined })),
  c('01 with 37 refused', `01${G}37100`, bad('MALFORMED', 'AIs 01 and 37 may not appear in the same read')),
  c('secondary serial needs a serial', `01${G}250X`, bad('MISSING_AI', undefined, '250')),
  c('secondary serial with serial', `01${G}21A${GS}250X`, okWith({ serial: 'A', ais: { '01': G, '21': 'A', '250': 'X' } })),
  c('two decimal variants of one measure', `01${G}3103000189${GS}3102000189`, bad('MALFORMED', 'AIs 3103 and 3102 give the same measure twice')),
  c('net weight with GTIN', `01${G}3103000189`, okWith({ ais: { '01': G, '3103': '000189' } })),
  c('NHRN with GTIN', `01${G}712123456${GS}21X`, okWith({ serial: 'X', ais: { '01': G, '712': '123456', '21': 'X' } })),
  // Digital Link.
  c('Digital Link', `https://id.example.com/01/${G}/10/L%2F1/21/S%25X?17=270331&3103=000189&linkType=all`,
    okWith({ form: 'digital-link', gtin: G, lot: 'L/1', serial: 'S%X', expiry: '2027-03-31', ais: { '01': G, '10': 'L/1', '21': 'S%X', '17': '270331', '3103': '000189' } })),
  c('Digital Link in GS1 QR mode-less ]Q1', `]Q1https://id.example.com/01/${G}/21/S1`, okWith({ symbology: ']Q1', serial: 'S1' })),
  c('Digital Link in ]d1', `]d1https://id.example.com/01/${G}/21/S1`, okWith({ symbology: ']d1', serial: 'S1' })),
  c('Digital Link path prefix and http', `http://example.org/a/01/b/01/${G}/21/S1`, okWith({ gtin: G, serial: 'S1' })),
  c('Digital Link upper-case scheme and host', `HTTPS://ID.GS1.ORG/01/${G}/21/S1`, okWith({ gtin: G, serial: 'S1' })),
  c('Digital Link GTIN-13', `https://id.example.com/01/${G13}`, okWith({ gtin: G })),
  c('Digital Link GTIN-12', `https://id.example.com/01/${G12}`, okWith({ gtin: `00${G12}` })),
  c('Digital Link GTIN-8', `https://id.example.com/01/${G8}/21/1`, okWith({ gtin: `000000${G8}` })),
  c('Digital Link CPV, lot, serial', `https://id.example.com/01/${G}/22/V1/10/L/21/S`, okWith({ lot: 'L', serial: 'S', ais: { '01': G, '22': 'V1', '10': 'L', '21': 'S' } })),
  c('Digital Link qualifiers out of order', `https://id.example.com/01/${G}/21/S/10/L`, bad('MALFORMED', 'Digital Link path qualifiers of AI 01 must be in the order 22, 10, 21 or 235')),
  c('Digital Link expiry in the path', `https://id.example.com/01/${G}/17/270331`, bad('MALFORMED', undefined, '17')),
  c('Digital Link bad percent-encoding', `https://id.example.com/01/${G}/21/A%G1`, bad('MALFORMED', 'AI 21 has a bad percent-encoding in the Digital Link')),
  c('Digital Link bad check digit', `https://id.example.com/01/${G.slice(0, 13)}7`, bad('BAD_CHECK_DIGIT', 'GTIN 09520123456787 has check digit 7, expected 8')),
  c('Digital Link bad date in query', `https://id.example.com/01/${G}?17=271332`, bad('BAD_DATE')),
  c('Digital Link SSCC', `https://id.example.com/00/${SSCC}`, okWith({ sscc: SSCC, form: 'digital-link' })),
  c('Digital Link without a key', 'https://id.example.com/products/123', bad('MALFORMED', 'no GS1 primary key (e.g. /01/ or /00/) in the Digital Link path')),
  c('Digital Link trailing slash and fragment', `https://id.example.com/01/${G}/21/S/#top`, okWith({ serial: 'S' })),
  c('Digital Link rightmost primary key wins', `https://id.example.com/01/${G13}x/01/${G}/21/S`, okWith({ gtin: G, serial: 'S' })),
  c('Digital Link empty query value', `https://id.example.com/01/${G}?17=`, bad('MALFORMED', 'AI 17 is empty')),
  c('Digital Link AI in the query without a value', `https://id.example.com/01/${G}?linkType=all&17`, bad('MALFORMED', 'AI 17 in the query string has no value (write 17=value)')),
  // Human-readable.
  c('human-readable', `(01)${G}(17)270331(10)LOT-A1(21)S3R!AL%x7`, okWith({ ...DM_FIELDS, symbology: undefined, form: 'human-readable' })),
  c('human-readable with parentheses in data', `(01)${G}(10)A(1)B(21)(X)`, okWith({ lot: 'A(1)B', serial: '(X)' })),
  c('human-readable unknown AI', `(01)${G}(999)1`, bad('MALFORMED', 'unknown AI 999 at position 19', '999')),
  c('human-readable under a GS1 symbology', `]d2(01)${G}`, bad('MALFORMED')),
];

for (const k of CASES) {
  test(`parse - ${k.name}`, () => {
    const r = parseRead(k.input, { currentYear: 2026, ...k.opts });
    if ('ok' in k.want) {
      if (!r.ok) assert.unreachable(`expected ok, got ${r.reason}: ${r.message}`);
      else for (const [field, value] of Object.entries(k.want.ok)) assert.equal(r[field as keyof ParsedRead], value, field);
    } else {
      if (r.ok) assert.unreachable(`expected ${k.want.reason}, got ok: ${JSON.stringify(r)}`);
      else {
        assert.is(r.reason, k.want.reason, r.message);
        if (k.want.message !== undefined) assert.is(r.message, k.want.message);
        if (k.want.ai !== undefined) assert.is(r.ai, k.want.ai);
        assert.ok(r.message.length > 0);
      }
    }
  });
}

test('parse - the table covers every reason the parser can return', () => {
  const reasons = new Set<string>(CASES.map((k) => ('ok' in k.want ? 'OK' : k.want.reason)));
  for (const r of ['OK', 'MALFORMED', 'BAD_CHECK_DIGIT', 'BAD_DATE', 'MISSING_AI', 'SYMBOLOGY_NOT_ALLOWED']) assert.ok(reasons.has(r), r);
  assert.ok(CASES.length >= 60, `${CASES.length} cases`);
});

test.run();

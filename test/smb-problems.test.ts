import t from 'tap';
import { closest, didYouMean, formatProblem, levenshtein, showValue } from '../src/smb/problems.js';
import { parseSize } from '../src/smb/globals.js';
import { casefold, confValueProblem } from '../src/smb/text.js';

t.test('levenshtein and did-you-mean', async (t) => {
  t.equal(levenshtein('', ''), 0);
  t.equal(levenshtein('kitten', 'sitting'), 3);
  t.equal(levenshtein('tcp prot', 'tcp port'), 2);
  t.equal(closest('TCP PROT', ['tcp port', 'workgroup']), 'tcp port', 'case-insensitive');
  t.equal(closest('zzzzzz', ['tcp port', 'workgroup']), undefined);
  t.equal(didYouMean('seel', ['seal', 'path']), 'did you mean "seal"? ');
  t.equal(didYouMean('x', []), '');
});

t.test('problem lines show the value as JSON, cut long ones, and omit secrets', async (t) => {
  t.equal(formatProblem({ level: 'error', host: 'h', path: 'a[0].b', value: 'x\ny', problem: 'bad', fix: 'fix it' }), 'h: a[0].b = "x\\ny": bad; fix it');
  t.equal(formatProblem({ level: 'error', host: 'h', path: 'u.password', problem: 'no', fix: 'use a file' }), 'h: u.password: no; use a file');
  t.equal(showValue('y'.repeat(100)).length, 80);
  t.equal(showValue(undefined), 'undefined');
});

t.test('sizes as ksmbd reads them, written canonically', async (t) => {
  t.same(parseSize('8MB'), { bytes: 8 * 1024 * 1024, text: '8M' });
  t.same(parseSize('512k'), { bytes: 512 * 1024, text: '512K' });
  t.same(parseSize('010M'), { bytes: 10 * 1024 * 1024, text: '10M' }, 'no leading zero: ksmbd would read 010 as octal');
  t.same(parseSize(4096), { bytes: 4096, text: '4096' });
  t.equal(parseSize('8 furlongs'), undefined);
  t.equal(parseSize(-1), undefined);
});

t.test('ksmbd.conf values and share-name folding', async (t) => {
  t.equal(confValueProblem('fine value'), undefined);
  t.equal(confValueProblem(''), 'an empty value is ignored by ksmbd (it means "use the default")');
  t.equal(confValueProblem('a\nb'), 'a newline would end the line in ksmbd.conf');
  t.equal(confValueProblem('a\u0001'), 'ksmbd.conf refuses control characters in values');
  t.equal(confValueProblem(' lead'), 'ksmbd strips leading blanks and keeps trailing ones, so the value would not be read as written');
  t.equal(casefold('Straße'), casefold('STRASSE'));
  t.equal(casefold('Café'), casefold('CAFE\u0301'), 'NFD: precomposed and combining forms are one name');
});

import { describe, expect, it } from 'vitest';
import { asciiJson, quoteText } from '../../src/domain/quote.js';

describe('quoteText / asciiJson', () => {
  it.each([
    ['', '""'],
    ['plain', '"plain"'],
    ['a\u0000b\u007f', '"a\\u0000b\\u007f"'],
    ['1.0\u202egnp.exe', '"1.0\\u202egnp.exe"'],
    ['line\u2028break', '"line\\u2028break"'],
    ['vïctim', '"v\\u00efctim"'],
    ['\u{1f600}', '"\\ud83d\\ude00"'],
    ['"\\', '"\\"\\\\"'],
  ])('%j is %s, printable ASCII, and parses back', (text, quoted) => {
    expect(quoteText(text)).toBe(quoted);
    expect(quoteText(text)).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(quoteText(text))).toBe(text);
  });

  it('keeps JSON text the same JSON', () => {
    const value = { title: 'victim 1.0\u202egnp.exe', n: 1 };
    const escaped = asciiJson(JSON.stringify(value));
    expect(escaped).toBe('{"title":"victim 1.0\\u202egnp.exe","n":1}');
    expect(JSON.parse(escaped)).toEqual(value);
  });
});

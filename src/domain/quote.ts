/**
 * Text from outside, made safe for a one-line message: every character outside printable
 * ASCII written as a JSON `\uXXXX` escape, so a log line or a terminal shows no control
 * character and no text reordered by a bidi override (`"1.0\u202egnp.exe"`).
 */

/** JSON text (JSON.stringify's) with every character outside printable ASCII escaped: still the same JSON. */
export function asciiJson(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The text as a JSON string of printable ASCII; JSON.parse gives it back. */
export function quoteText(text: string): string {
  return asciiJson(JSON.stringify(text));
}

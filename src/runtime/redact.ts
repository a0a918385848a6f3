/**
 * The one place that hides credentials: a URL's password (and a token-like user info)
 * becomes `***`. Used by the logger (every message and error), the configuration errors
 * and the readiness body, so that no output ever shows a password.
 */

/** `scheme://user:secret@host` anywhere in a text; the user is kept, the secret is not. */
const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@"']*):([^\s/?#@"']*)@/gi;

/** The URL with its password (if any) replaced by `***`; a malformed URL is redacted by pattern. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return redactText(url);
  }
}

/** Every URL's password in a free text (an error message, a stack, a setting's value) replaced by `***`. */
export function redactText(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, (_, scheme: string, user: string) => `${scheme}${user}:***@`);
}

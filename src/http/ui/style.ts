/** The UI's one small stylesheet (served at /ui.css): readable on a laptop and on a phone. */
export const STYLE = `
:root { color-scheme: light dark; --fg: #1d1f21; --bg: #fdfdfd; --muted: #6b7075; --line: #d8dbde; --accent: #2458b3;
  --ok: #1f7a3a; --warn: #9a6400; --bad: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --bg: #151718; --muted: #9aa0a6; --line: #33373a; --accent: #8ab4f8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header strong { font-size: 1.1rem; }
header form { display: flex; gap: .4rem; margin-left: auto; }
main { padding: 1rem; max-width: 78rem; margin: 0 auto; }
a { color: var(--accent); }
h1 { font-size: 1.35rem; overflow-wrap: anywhere; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
code { font: 12px/1.3 ui-monospace, monospace; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .8rem; border: 1px solid currentColor; white-space: nowrap; }
.present, .running, .succeeded { color: var(--ok); } .yanked, .hash-changed, .scheduled, .stopped { color: var(--warn); }
.missing, .failed, .error { color: var(--bad); }
.flash { padding: .5rem .75rem; border: 1px solid var(--line); border-left: 4px solid var(--accent); margin-bottom: 1rem; }
progress { width: 12rem; max-width: 100%; }
input, button { font: inherit; padding: .25rem .5rem; }
form.inline { display: inline; }
ol.timeline { list-style: none; padding: 0; } ol.timeline li { border-left: 2px solid var(--line); padding: .2rem 0 .6rem .8rem; }
@media (max-width: 40rem) { header form { margin-left: 0; width: 100%; } header form input { flex: 1; } th, td { padding: .3rem; } }
`;

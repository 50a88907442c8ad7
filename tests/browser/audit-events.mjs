// Every event the audit trail can hold, found in the Rust sources, and a check that the
// auditors' page has Swedish and English words for each. Run alone (`node audit-events.mjs`)
// or from audit.mjs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCES = ['signaling/server/src', 'gateway/src'];
const NAME = '([a-z][a-z0-9_]*)';

function rustFiles(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return rustFiles(p);
    return p.endsWith('.rs') ? [p] : [];
  });
}

// The text of a call's arguments from just after its opening parenthesis.
function argsOf(text, from) {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(from, i);
  }
  return '';
}

/// Event names written to the trail, by the ways the code writes them: `event: "x"` in an
/// `AuditEvent`, `let event = if .. { "a" } else { "b" }`, the effects' table in
/// `live/effects.rs` (`("x", actor, subject, details)`), and the first literal given to a
/// helper that takes `event: &'static str`.
export function trailEvents() {
  const events = new Set();
  const files = SOURCES.flatMap((d) => rustFiles(join(repo, d)));
  const texts = files.map((f) => {
    const text = readFileSync(f, 'utf8');
    const tests = text.indexOf('#[cfg(test)]');
    return { f, text: tests >= 0 ? text.slice(0, tests) : text };
  });
  const helpers = new Set();
  for (const { text } of texts) {
    for (const m of text.matchAll(/fn (\w+)\s*\(([^)]*)\)/g)) {
      if (/\bevent: &'static str/.test(m[2])) helpers.add(m[1]);
    }
  }
  for (const { f, text } of texts) {
    for (const m of text.matchAll(new RegExp(`\\bevent:\\s*"${NAME}"`, 'g'))) events.add(m[1]);
    const ternary = new RegExp(`let event = if [^{]*\\{\\s*"${NAME}"\\s*\\}\\s*else\\s*\\{\\s*"${NAME}"\\s*\\}`, 'g');
    for (const m of text.matchAll(ternary)) { events.add(m[1]); events.add(m[2]); }
    if (f.endsWith('live/effects.rs')) {
      const start = text.indexOf('fn audit_event');
      const body = text.slice(start, text.indexOf('\n    fn ', start + 1));
      for (const m of body.matchAll(new RegExp(`\\(\\s*"${NAME}",`, 'g'))) events.add(m[1]);
    }
    for (const name of helpers) {
      for (const m of text.matchAll(new RegExp(`(?<![\\w.:])${name}\\(`, 'g'))) {
        const literal = argsOf(text, m.index + m[0].length).match(new RegExp(`"${NAME}"`));
        if (literal) events.add(literal[1]);
      }
    }
  }
  return [...events].sort();
}

/// The events without Swedish or English words on the auditors' page.
export async function missingWords() {
  const { EVENT_WORDS } = await import('../../admin-ui/app/audit-words.js');
  return trailEvents().filter((e) => !EVENT_WORDS.sv[e] || !EVENT_WORDS.en[e]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const events = trailEvents();
  const missing = await missingWords().catch((e) => { console.log(String(e)); return events; });
  console.log(`${events.length} events in the trail: ${events.join(' ')}`);
  console.log(missing.length ? `without words: ${missing.join(' ')}` : 'every event has words');
  process.exit(missing.length ? 1 : 0);
}

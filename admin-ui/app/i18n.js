// The pages' language: Swedish by default, English on request; the strings are in strings/.
import sv from './strings/sv.js';
import en from './strings/en.js';

const STRINGS = { sv, en };

const stored = (() => {
  try { return localStorage.getItem('sluss.lang'); } catch { return null; }
})();
let lang = stored === 'en' ? 'en' : 'sv';

export const IDENTIFICATION_METHODS = [
  'e_identification', 'staff_login', 'id_shown_on_camera', 'known_from_before', 'voice_recognised_by_patient',
];

/// R5: what the chair can attest by hand. E-identification and staff login are proven by those
/// logins alone; the server refuses them from the chair's menu.
export const ATTESTABLE_METHODS = ['id_shown_on_camera', 'known_from_before', 'voice_recognised_by_patient'];

export function t(key) {
  return STRINGS[lang][key] ?? STRINGS.sv[key] ?? key;
}

export function currentLang() {
  return lang;
}

/// Fills every element with `data-i18n` (text) or `data-i18n-label` (aria-label), and wires the
/// language switch button.
export function translatePage(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  const button = document.getElementById('lang');
  if (button && !button.dataset.wired) {
    button.dataset.wired = '1';
    button.addEventListener('click', () => {
      lang = lang === 'sv' ? 'en' : 'sv';
      try { localStorage.setItem('sluss.lang', lang); } catch { /* private mode */ }
      translatePage();
      document.dispatchEvent(new CustomEvent('sluss:lang'));
    });
  }
  if (button) button.textContent = t('lang.switch');
}

/// The message for an error code from the server, falling back to the server's own text.
export function errorText(code, fallback) {
  const key = `error.${code}`;
  return STRINGS[lang][key] ? t(key) : (fallback || t('error.generic'));
}

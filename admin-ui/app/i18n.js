// Every string the pages show, in Swedish (default) and English.
const STRINGS = {
  sv: {
    'app.name': 'Sluss',
    'app.tagline': 'Säkra vårdmöten via webbläsaren.',
    'lang.switch': 'English',
    'home.guest': 'Har du fått en personlig länk till ett möte? Öppna den länken för att delta.',
    'home.new': 'Nytt möte',
    'home.title': 'Mötets namn (visas bara för personal)',
    'home.guests': 'Antal gästlänkar',
    'home.create': 'Skapa möte',
    'home.created': 'Mötet är skapat. Skicka varje länk till en person, den är personlig.',
    'home.chairLink': 'Din länk (ordförande)',
    'home.guestLink': 'Gästlänk',
    'home.copy': 'Kopiera',
    'home.copied': 'Kopierad',
    'home.meetings': 'Möten',
    'home.noMeetings': 'Inga möten än.',
    'home.participants': 'deltagare nu',
    'setup.claiming': 'Aktiverar administratörslänken…',
    'setup.failed': 'Länken kunde inte användas.',
    'join.checking': 'Kontrollerar länken…',
    'join.noToken': 'Länken saknar sin kod. Öppna hela länken som du fick.',
    'join.heading': 'Anslut till ditt vårdmöte',
    'join.privacy': 'Sitt ensam i ett stängt rum och använd headset, så att ingen annan hör vad som sägs.',
    'join.name': 'Ditt namn',
    'join.camera': 'Kamera',
    'join.microphone': 'Mikrofon',
    'join.join': 'Gå med',
    'join.noDevices': 'Kameran eller mikrofonen kunde inte startas. Kontrollera att webbläsaren får använda dem.',
    'join.previewLabel': 'Förhandsvisning av din kamera',
    'meeting.connecting': 'Ansluter…',
    'meeting.connected': 'Ansluten',
    'meeting.reconnecting': 'Anslutningen bröts, återansluter…',
    'meeting.you': 'Du',
    'meeting.mute': 'Stäng av mikrofonen',
    'meeting.unmute': 'Slå på mikrofonen',
    'meeting.cameraOff': 'Stäng av kameran',
    'meeting.cameraOn': 'Slå på kameran',
    'meeting.leave': 'Lämna mötet',
    'meeting.left': 'Du har lämnat mötet.',
    'meeting.muted': 'mikrofon av',
    'meeting.tileReconnecting': 'återansluter',
    'meeting.chair': 'ordförande',
    'meeting.joined': 'har anslutit',
    'meeting.departed': 'har lämnat',
    'error.link_invalid': 'Länken gäller inte. Be den som bjöd in dig om en ny länk.',
    'error.meeting_ended': 'Mötet är avslutat.',
    'error.unsupported_version': 'Sidan är inaktuell. Ladda om den.',
    'error.meeting_full': 'Mötet är fullt.',
    'error.personal_identity_number': 'Skriv inte personnummer eller samordningsnummer här.',
    'error.protocol': 'Anslutningen avbröts.',
    'error.generic': 'Något gick fel.',
  },
  en: {
    'app.name': 'Sluss',
    'app.tagline': 'Secure care meetings in the browser.',
    'lang.switch': 'Svenska',
    'home.guest': 'Have you been sent a personal meeting link? Open that link to take part.',
    'home.new': 'New meeting',
    'home.title': 'Meeting name (shown to staff only)',
    'home.guests': 'Number of guest links',
    'home.create': 'Create meeting',
    'home.created': 'The meeting is created. Send each link to one person; links are personal.',
    'home.chairLink': 'Your link (chair)',
    'home.guestLink': 'Guest link',
    'home.copy': 'Copy',
    'home.copied': 'Copied',
    'home.meetings': 'Meetings',
    'home.noMeetings': 'No meetings yet.',
    'home.participants': 'participants now',
    'setup.claiming': 'Activating the administrator link…',
    'setup.failed': 'The link could not be used.',
    'join.checking': 'Checking the link…',
    'join.noToken': 'The link is missing its code. Open the whole link you were sent.',
    'join.heading': 'Join your care meeting',
    'join.privacy': 'Sit alone in a closed room and use a headset, so that nobody else hears what is said.',
    'join.name': 'Your name',
    'join.camera': 'Camera',
    'join.microphone': 'Microphone',
    'join.join': 'Join',
    'join.noDevices': 'The camera or microphone could not be started. Check that the browser may use them.',
    'join.previewLabel': 'Preview of your camera',
    'meeting.connecting': 'Connecting…',
    'meeting.connected': 'Connected',
    'meeting.reconnecting': 'The connection dropped, reconnecting…',
    'meeting.you': 'You',
    'meeting.mute': 'Mute microphone',
    'meeting.unmute': 'Unmute microphone',
    'meeting.cameraOff': 'Turn camera off',
    'meeting.cameraOn': 'Turn camera on',
    'meeting.leave': 'Leave meeting',
    'meeting.left': 'You have left the meeting.',
    'meeting.muted': 'muted',
    'meeting.tileReconnecting': 'reconnecting',
    'meeting.chair': 'chair',
    'meeting.joined': 'joined',
    'meeting.departed': 'left',
    'error.link_invalid': 'This link is not valid. Ask the person who invited you for a new one.',
    'error.meeting_ended': 'The meeting has ended.',
    'error.unsupported_version': 'This page is out of date. Reload it.',
    'error.meeting_full': 'The meeting is full.',
    'error.personal_identity_number': 'Do not write personal identity numbers here.',
    'error.protocol': 'The connection was closed.',
    'error.generic': 'Something went wrong.',
  },
};

const stored = (() => {
  try { return localStorage.getItem('sluss.lang'); } catch { return null; }
})();
let lang = stored === 'en' ? 'en' : 'sv';

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

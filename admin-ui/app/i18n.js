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
    'lobby.waiting': 'Väntar på att bli insläppt. Ordföranden har fått veta att du väntar.',
    'lobby.heading': 'Väntar i lobbyn',
    'lobby.empty': 'Ingen väntar.',
    'lobby.admit': 'Släpp in',
    'lobby.deny': 'Neka',
    'lobby.knock': 'väntar i lobbyn',
    'chair.lock': 'Lås mötet',
    'chair.unlock': 'Lås upp mötet',
    'chair.consent': 'Registrera patientens samtycke',
    'chair.consentDone': 'Samtycke registrerat',
    'chair.end': 'Avsluta mötet för alla',
    'chair.endConfirm': 'Ja, avsluta för alla',
    'chair.endCancel': 'Avbryt',
    'chair.endQuestion': 'Alla kopplas ner och ingen länk fungerar efteråt.',
    'chair.mute': 'Stäng av mikrofon',
    'chair.remove': 'Ta bort',
    'chair.identify': 'Identifierad genom',
    'id.none': 'Ej identifierad',
    'id.e_identification': 'e-legitimation',
    'id.staff_login': 'personalinloggning',
    'id.id_shown_on_camera': 'legitimation i kameran',
    'id.known_from_before': 'känd sedan tidigare',
    'id.voice_recognised_by_patient': 'rösten känd av patienten',
    'meeting.locked': 'Mötet är låst',
    'meeting.sensitive': 'Känsligt möte: kan inte spelas in eller transkriberas',
    'chat.heading': 'Chatt',
    'chat.label': 'Meddelande till alla i mötet',
    'chat.send': 'Skicka',
    'chat.note': 'Chatten sparas inte. Den som ansluter senare ser inte tidigare meddelanden.',
    'chair.chatOn': 'Tillåt chatt',
    'chair.chatOff': 'Stäng av chatten',
    'home.sensitive': 'Känsligt möte (ingen inspelning, chatten av tills ordföranden slår på den)',
    'error.recording_forbidden': 'Mötet är känsligt och kan inte spelas in eller transkriberas.',
    'error.chat_off': 'Chatten är avstängd i det här mötet.',
    'meeting.mutedByChair': 'Ordföranden stängde av din mikrofon. Du kan slå på den själv.',
    'error.denied': 'Ordföranden släppte inte in dig i mötet.',
    'error.removed': 'Du har tagits bort från mötet.',
    'error.not_chair': 'Bara ordföranden kan göra det.',
    'error.not_admitted': 'Vänta tills ordföranden släpper in dig.',
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
    'lobby.waiting': 'Waiting to be let in. The chair has been told that you are waiting.',
    'lobby.heading': 'Waiting in the lobby',
    'lobby.empty': 'Nobody is waiting.',
    'lobby.admit': 'Let in',
    'lobby.deny': 'Deny',
    'lobby.knock': 'is waiting in the lobby',
    'chair.lock': 'Lock the meeting',
    'chair.unlock': 'Unlock the meeting',
    'chair.consent': "Record the patient's consent",
    'chair.consentDone': 'Consent recorded',
    'chair.end': 'End the meeting for everyone',
    'chair.endConfirm': 'Yes, end it for everyone',
    'chair.endCancel': 'Cancel',
    'chair.endQuestion': 'Everyone is disconnected and no link works afterwards.',
    'chair.mute': 'Mute',
    'chair.remove': 'Remove',
    'chair.identify': 'Identified by',
    'id.none': 'Not identified',
    'id.e_identification': 'e-identification',
    'id.staff_login': 'staff login',
    'id.id_shown_on_camera': 'ID shown on camera',
    'id.known_from_before': 'known from before',
    'id.voice_recognised_by_patient': 'voice recognised by the patient',
    'meeting.locked': 'The meeting is locked',
    'meeting.sensitive': 'Sensitive meeting: cannot be recorded or transcribed',
    'chat.heading': 'Chat',
    'chat.label': 'Message to everyone in the meeting',
    'chat.send': 'Send',
    'chat.note': 'Chat is not saved. People who join later do not see earlier messages.',
    'chair.chatOn': 'Allow chat',
    'chair.chatOff': 'Turn chat off',
    'home.sensitive': 'Sensitive meeting (no recording, chat off until the chair turns it on)',
    'error.recording_forbidden': 'This meeting is sensitive and cannot be recorded or transcribed.',
    'error.chat_off': 'Chat is off in this meeting.',
    'meeting.mutedByChair': 'The chair muted your microphone. You can unmute it yourself.',
    'error.denied': 'The chair did not let you into the meeting.',
    'error.removed': 'You have been removed from the meeting.',
    'error.not_chair': 'Only the chair can do that.',
    'error.not_admitted': 'Wait until the chair lets you in.',
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

export const IDENTIFICATION_METHODS = [
  'e_identification', 'staff_login', 'id_shown_on_camera', 'known_from_before', 'voice_recognised_by_patient',
];

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

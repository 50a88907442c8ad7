// The control bar's icons, drawn inline (no icon font, no request): each is decorative, the
// button's words name it.
const NS = 'http://www.w3.org/2000/svg';

const PATHS = {
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11z',
  camera: 'M4 6h11a1 1 0 0 1 1 1v3l4-3v10l-4-3v3a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1z',
  share: 'M3 4h18v12H3zm2 2v8h14V6zm3 13h8v2H8z',
  grid: 'M3 3h8v8H3zm10 0h8v8h-8zM3 13h8v8H3zm10 0h8v8h-8z',
  speaker: 'M3 3h18v12H3zm0 14h5v4H3zm6.5 0h5v4h-5zm6.5 0h5v4h-5z',
  chat: 'M4 4h16v12H9l-5 4z',
  more: 'M5 10a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm7 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm7 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4z',
  leave: 'M10 3h10v18H10v-2h8V5h-8zM2 12l6-5v3.5h8v3H8V17z',
};

/// An icon, crossed out when `crossed` (a microphone or camera that is off).
export function icon(name, crossed = false) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', PATHS[name]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  if (crossed) {
    const line = document.createElementNS(NS, 'path');
    line.setAttribute('d', 'M3 3l18 18');
    line.setAttribute('stroke', 'currentColor');
    line.setAttribute('stroke-width', '2.5');
    line.setAttribute('stroke-linecap', 'round');
    svg.append(line);
  }
  return svg;
}

/// Fills a control button: its icon, its words and, where given, a count in a badge (which a
/// screen reader hears as `badgeWords`, "3 unread").
export function setControl(button, { name, crossed = false, label, badge = 0, badgeWords = '' }) {
  const parts = [icon(name, crossed), Object.assign(document.createElement('span'), { textContent: label })];
  if (badge > 0) {
    const b = document.createElement('span');
    b.className = 'badge';
    b.setAttribute('aria-hidden', 'true');
    b.textContent = badge > 99 ? '99+' : String(badge);
    const words = document.createElement('span');
    words.className = 'visually-hidden';
    words.textContent = ` (${badgeWords.replace('{n}', String(badge))})`;
    parts.push(b, words);
  }
  button.replaceChildren(...parts);
}

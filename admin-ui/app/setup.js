// An enrolment link (the first administrator's setup link, or one an administrator made):
// register an authenticator app by QR code, choose a password, confirm with a first code.
import { api, ApiError } from './api.js';
import { t, translatePage, errorText } from './i18n.js';

const $ = (id) => document.getElementById(id);
translatePage();
const token = location.hash.slice(1);
// The token must not linger in the address bar or the history.
history.replaceState(null, '', location.pathname);

try {
  const e = await api('POST', '/enroll/begin', { token });
  $('qr').src = e.qr;
  $('qr').alt = t('enroll.qrAlt');
  $('totp-secret').textContent = e.secret;
  if (e.username) { $('username').value = e.username; $('username').readOnly = true; }
  if (e.display_name) { $('display-name').value = e.display_name; $('display-name').readOnly = true; }
  $('enroll').hidden = false;
} catch (e) {
  $('status').textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
  $('status').classList.add('error');
}

$('enroll').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('error').hidden = true;
  try {
    await api('POST', '/enroll/complete', {
      token,
      username: $('username').value,
      display_name: $('display-name').value,
      password: $('password').value,
      code: $('code').value,
    });
    location.replace('/');
  } catch (e) {
    $('error').textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
    $('error').hidden = false;
  }
});

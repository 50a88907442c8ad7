// The one-time setup link: spend its token for an organiser session, then go to the start page.
import { api, ApiError } from './api.js';
import { t, translatePage, errorText } from './i18n.js';

translatePage();
const token = location.hash.slice(1);
// The token must not linger in the address bar or the history.
history.replaceState(null, '', location.pathname);
const status = document.getElementById('status');
try {
  await api('POST', '/setup/claim', { token });
  location.replace('/');
} catch (e) {
  status.textContent = `${t('setup.failed')} ${e instanceof ApiError ? errorText(e.code, e.message) : ''}`;
  status.classList.add('error');
}

// Staff login: password and a code from the authenticator app (R2).
import { api, ApiError } from './api.js';
import { t, translatePage, errorText } from './i18n.js';

const $ = (id) => document.getElementById(id);
translatePage();
$('username').focus();
// R2: with an identity provider configured, its strong login comes first.
api('GET', '/login/methods').then((m) => {
  $('oidc').hidden = !m.oidc;
  $('oidc-or').hidden = !m.oidc;
}).catch(() => {});
$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('error').hidden = true;
  try {
    await api('POST', '/login', { username: $('username').value, password: $('password').value, code: $('code').value });
    location.replace('/');
  } catch (e) {
    $('error').textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
    $('error').hidden = false;
    $('code').value = '';
  }
});

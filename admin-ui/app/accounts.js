// Staff administration for administrators: every account with its roles, state and last
// login; disable and enable, lift a lockout, change roles, reset a lost authenticator.
// Every change is in the audit trail; disabling ends the person's sessions at once.
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { t, errorText } from './i18n.js';

const ROLES = ['staff', 'admin', 'auditor'];
const table = document.getElementById('accounts-table');
const status = document.getElementById('accounts-status');
const error = document.getElementById('accounts-error');

function when(secs) {
  return secs ? new Date(secs * 1000).toLocaleString(document.documentElement.lang || 'sv') : t('accounts.never');
}

function say(text, isError = false) {
  error.hidden = !isError;
  status.hidden = isError;
  (isError ? error : status).textContent = text;
}

async function change(user, body, done) {
  try {
    await api('PATCH', `/users/${encodeURIComponent(user.id)}`, body);
    say(done);
    await listAccounts();
  } catch (e) {
    say(e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic'), true);
  }
}

async function reset(user) {
  if (!confirm(t('accounts.confirmReset').replace('{name}', user.display_name))) return;
  try {
    const r = await api('POST', `/users/${encodeURIComponent(user.id)}/authenticator`);
    say(t('accounts.resetDone').replace('{name}', user.display_name));
    const out = document.getElementById('accounts-link');
    out.value = r.enrollment_link;
    out.parentElement.hidden = false;
  } catch (e) {
    say(e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic'), true);
  }
}

function rolesEditor(user) {
  const boxes = ROLES.map((role) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: role, checked: user.roles.includes(role) }), ' ', t(`accounts.role.${role}`)));
  const save = h('button', { type: 'button', onclick: () => {
    const roles = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    change(user, { roles }, t('accounts.rolesDone').replace('{name}', user.display_name));
  } }, t('accounts.saveRoles'));
  return h('details', {}, h('summary', {}, t('accounts.roles')), ...boxes, save);
}

function row(user) {
  const state = user.disabled ? t('accounts.disabled') : user.locked ? t('accounts.locked') : t('accounts.active');
  const actions = [];
  if (user.disabled) {
    actions.push(h('button', { type: 'button', onclick: () => change(user, { disabled: false }, t('accounts.enableDone').replace('{name}', user.display_name)) }, t('accounts.enable')));
  } else {
    actions.push(h('button', { type: 'button', class: 'danger', onclick: () => {
      if (confirm(t('accounts.confirmDisable').replace('{name}', user.display_name))) {
        change(user, { disabled: true }, t('accounts.disableDone').replace('{name}', user.display_name));
      }
    } }, t('accounts.disable')));
  }
  if (user.locked) {
    actions.push(h('button', { type: 'button', onclick: () => change(user, { unlock: true }, t('accounts.unlockDone').replace('{name}', user.display_name)) }, t('accounts.unlock')));
  }
  if (user.login === 'password_and_authenticator') {
    actions.push(h('button', { type: 'button', onclick: () => reset(user) }, t('accounts.reset')));
  }
  actions.push(rolesEditor(user));
  const login = user.login === 'identity_provider' ? t('accounts.viaIdp') : user.username;
  // Each cell carries its column's name, which a phone shows beside it (no table there).
  const cell = (label, ...content) => h('td', { dataset: { label: t(label) } }, ...content);
  return h('tr', { dataset: { user: user.username } },
    cell('users.name', user.display_name),
    cell('users.username', login),
    cell('accounts.roles', user.roles.map((r) => t(`accounts.role.${r}`)).join(', ')),
    cell('accounts.state', state),
    cell('accounts.lastLogin', when(user.last_login_at)),
    cell('accounts.actions', h('div', { class: 'actions' }, actions)));
}

export async function listAccounts() {
  const { users } = await api('GET', '/users');
  const body = table.querySelector('tbody');
  body.replaceChildren(...users.map(row));
  table.hidden = false;
}

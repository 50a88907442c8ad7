// A real OpenID Connect provider (oidc-provider, certified) on loopback for the login tests.
// It plays both the region's staff IdP and the citizens' e-identification IdP: each account
// logs in at a fixed assurance level (acr), so the tests can prove that Sluss refuses a level
// below LoA3. The login page is the test's own: a username field, nothing else.
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const LOA = (n) => `http://id.elegnamnden.se/loa/1.0/${n}`;
const PNR_CLAIM = 'https://id.oidc.se/claim/personalIdentityNumber';
const PNR_SCOPE = 'https://id.oidc.se/scope/naturalPersonNumber';

// The people who can log in. Personal identity numbers are the Tax Agency's test numbers.
export const ACCOUNTS = {
  sara: { acr: LOA('loa3'), claims: { name: 'Sara Sjuksköterska', roles: ['staff'] } },
  arne: { acr: LOA('loa4'), claims: { name: 'Arne Admin', roles: 'admin staff' } },
  lars: { acr: LOA('loa2'), claims: { name: 'Lars Lågnivå', roles: ['staff'] } },
  olle: { acr: LOA('loa3'), claims: { name: 'Olle Obehörig', roles: ['nurse'] } },
  tolvan: { acr: LOA('loa3'), claims: { given_name: 'Tolvan', family_name: 'Tolvansson', [PNR_CLAIM]: '191212121212' } },
  svag: { acr: LOA('loa2'), claims: { name: 'Svag Svagsson', [PNR_CLAIM]: '198112289874' } },
};

export const CLIENTS = {
  staff: { id: 'sluss-staff', secret: randomBytes(16).toString('hex') },
  eid: { id: 'sluss-eid', secret: randomBytes(16).toString('hex') },
};

const page = (body) => `<!doctype html><html><head><meta charset="utf-8"><title>Test IdP</title></head><body>${body}</body></html>`;

/// Starts the provider on 127.0.0.1:port; `sluss` is Sluss's public URL.
export async function startIdp(port, sluss) {
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test' };
  const provider = new Provider(issuer, {
    clients: [
      { client_id: CLIENTS.staff.id, client_secret: CLIENTS.staff.secret, redirect_uris: [`${sluss}/auth/callback`] },
      { client_id: CLIENTS.eid.id, client_secret: CLIENTS.eid.secret, redirect_uris: [`${sluss}/auth/eid/callback`] },
    ].map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    acrValues: [LOA('loa2'), LOA('loa3'), LOA('loa4'), LOA('eidas-sub'), LOA('eidas-high')],
    scopes: ['openid', 'profile', 'roles', PNR_SCOPE],
    claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name'], roles: ['roles'], [PNR_SCOPE]: [PNR_CLAIM] },
    // Put the scopes' claims in the ID token itself, as the Swedish profile does.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (ctx, id) => ACCOUNTS[id] && { accountId: id, claims: () => ({ sub: id, ...ACCOUNTS[id].claims }) },
    // First-party clients: no consent screen; grant what was asked.
    async loadExistingGrant(ctx) {
      const id = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (id) return ctx.oidc.provider.Grant.find(id);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  const server = http.createServer(async (req, res) => {
    const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(req.url);
    if (!m) return callback(req, res);
    try {
      await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        return res.end(page(`<h1>Test IdP</h1><form method="post" action="/interaction/${m[1]}/login">
          <label>Användare <input name="login" id="idp-login" autofocus></label>
          <button id="idp-submit" type="submit">Logga in</button></form>`));
      }
      let body = '';
      for await (const chunk of req) { body += chunk; if (body.length > 4096) break; }
      const login = new URLSearchParams(body).get('login');
      const account = ACCOUNTS[login];
      if (!account) {
        res.statusCode = 400;
        return res.end(page('<p>unknown account</p>'));
      }
      await provider.interactionFinished(req, res, { login: { accountId: login, acr: account.acr } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.statusCode = 500;
      res.end(page(`<p>${String(e.message).replace(/</g, '&lt;')}</p>`));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { issuer, close: () => new Promise((resolve) => server.close(resolve)) };
}

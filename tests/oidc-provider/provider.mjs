// A real OpenID Provider for the sign-in tests (tests/oidc.rs): panva's certified
// oidc-provider with one confidential client and a minimal login page in place of a
// real directory's. Settings come from the environment:
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI  the one registered client
//   ACCOUNTS        JSON: {"login": {"email": "...", "email_verified": true, "name": "..."}}
//   TOKEN_CLOCK_OFFSET_SECONDS  shifts the clock of the token endpoint only (negative:
//                   ID tokens born expired, as a replayed old token would be)
// It listens on a free port of 127.0.0.1 and prints "ISSUER <url>" once it is ready.
import http from 'node:http';

// One sign-in at a time per provider (each test starts its own), so a shift that is
// on while a token request is served touches nothing else.
const tokenOffsetMs = Number(process.env.TOKEN_CLOCK_OFFSET_SECONDS || 0) * 1000;
let shift = 0;
const realNow = Date.now;
Date.now = () => realNow() + shift;

const { default: Provider } = await import('oidc-provider');

const accounts = JSON.parse(process.env.ACCOUNTS || '{}');

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  cookies: { keys: ['tsp-ledger-test-provider-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Entra ID puts the requested claims in the ID token; so does this provider.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  // A first-party client: no consent screen, the grant is made on the spot.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

const callback = provider.callback();

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

server.on('request', async (req, res) => {
  const match = req.url.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) {
    if (tokenOffsetMs !== 0 && req.url.startsWith('/token')) {
      shift = tokenOffsetMs;
      res.on('close', () => { shift = 0; });
    }
    return callback(req, res);
  }
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && !match[2]) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><title>Sign in</title>
<form method="post" action="/interaction/${details.uid}/login">
<label>Login <input name="login"></label><button>Sign in</button></form>`);
      return;
    }
    if (req.method === 'POST' && match[2]) {
      const login = (await readForm(req)).get('login');
      await provider.interactionFinished(req, res, { login: { accountId: login } }, {
        mergeWithLastSubmission: false,
      });
      return;
    }
    res.statusCode = 405;
    res.end();
  } catch (err) {
    res.statusCode = 400;
    res.end(String(err));
  }
});

console.log(`ISSUER ${issuer}`);

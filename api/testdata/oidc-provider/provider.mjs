// A real OpenID Provider for the API's OIDC tests: node-oidc-provider, an
// OpenID Certified implementation, served over HTTPS on 127.0.0.1.
//
// Usage: node provider.mjs CONFIG.json
//
// scripts/install-tools installs the pinned node-oidc-provider of
// package.json and package-lock.json, next to this file, into its tool
// cache.
//
// CONFIG.json holds:
//   issuer    the issuer URL, https://127.0.0.1:PORT
//   port      the port to listen on
//   certFile  PEM certificate for the listener
//   keyFile   PEM private key for the listener
//   jwks      the provider's private signing keys, as a JWK set
//   clients   client metadata, as node-oidc-provider reads it
//   resource  the resource indicator whose access tokens are JWTs
//   scope     the scopes the resource server grants
//
// The script prints "ready" on stdout once it listens, and exits when its
// standard input closes, so it never outlives the test that started it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  // Every login succeeds and names the account by the login field.
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub }),
  }),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => config.resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== config.resource) {
          throw new Error(`unknown resource indicator ${indicator}`);
        }
        return { scope: config.scope, accessTokenFormat: 'jwt', accessTokenTTL: 600 };
      },
    },
  },
  scopes: ['openid', ...config.scope.split(' ')],
});

const server = https.createServer({
  cert: fs.readFileSync(config.certFile),
  key: fs.readFileSync(config.keyFile),
}, provider.callback());

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

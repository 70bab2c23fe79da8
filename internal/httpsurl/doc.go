// Package httpsurl refuses URLs that would carry a secret in clear text.
// Join tokens, API bearer tokens, trust-token keys and webhook payloads
// leave bootproof only over TLS: every client (the agent, the API client
// commands, the placement gate, loadgen) checks its verifier URL here
// before it makes a request, and its HTTP client follows no redirect to a
// plain http:// URL.
package httpsurl

// Package client is the Go client of the verifier's REST API (/api/v1),
// used by the command line (hosts, report, token, policy, gate). It finds
// the verifier through BOOTPROOF_URL, BOOTPROOF_TOKEN and BOOTPROOF_CA, as
// Vault's clients use VAULT_ADDR and VAULT_TOKEN.
package client

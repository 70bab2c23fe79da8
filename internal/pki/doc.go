// Package pki is the verifier's own certificate authority: it makes the CA on
// first start, the server certificate the verifier presents, and the client
// certificates that identify enrolled agents over mutual TLS.
//
// An agent's client certificate only says which enrolled host is calling; it
// proves nothing about the host's boot. Every verdict rests on the TPM quote.
package pki

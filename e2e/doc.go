// Package e2e runs bootproof as its users do: it builds the binary and runs
// the verifier, the demo and emulated hosts as separate processes (each
// emulated host with its own TCG reference TPM), then checks what the API
// and the report say. Skipped with -short.
package e2e

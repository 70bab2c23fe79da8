// Package tpmtest gives tests a TPM: the TCG reference TPM in process
// (go-tpm-tools' simulator, cgo), closed when the test ends. Import it only
// from _test.go files. It trusts nothing and checks nothing; it only saves
// each test the open/close boilerplate.
package tpmtest

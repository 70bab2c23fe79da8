// Package storetest is the conformance suite of store.Store: Run checks
// that an implementation keeps every promise the interface documents
// (round trips, not-found and conflict errors, single use under concurrency,
// history only on status changes, leases that never overlap). Every
// implementation runs it on every database it supports.
//
// It is imported only from tests.
package storetest

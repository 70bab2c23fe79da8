// Package webtest drives the security report in a real headless Chromium,
// as an operator would: it signs in, reads the counts, filters to Failed,
// opens a failed host, finds its reason and the event that differs from the
// reference, and exports CSV, saving screenshots and the export as test
// artefacts. It fails on any console error or uncaught exception.
//
// It takes only a base URL and a token, so the same steps run against the
// report over a fake source (package web's tests) and against a real
// verifier with an emulated fleet. It is for tests only; it trusts nothing
// the pages say beyond what each step checks.
package webtest

// Package metrics declares every Prometheus collector of the verifier in one
// place, so names and labels stay consistent and bounded: labels are status
// names and reason codes, never host names.
package metrics

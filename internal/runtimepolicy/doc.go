// Package runtimepolicy is a host group's runtime policy for the Linux
// kernel's Integrity Measurement Architecture (IMA) and how one measured
// file is judged against it: allowed digests by path, path excludes
// (globs), deny digests for any path, and IMA signatures verified against
// the group's trusted keys, each failing rule enforced or log-only.
//
// The IMA log's parser and its replay to PCR 10 live elsewhere: this
// package takes a Measurement, a small struct the integration fills from a
// parsed log entry, so the two can change independently. Learn builds a
// policy from a golden host's measurements.
//
// It is pure: no network, no storage, no logging, no clock.
package runtimepolicy

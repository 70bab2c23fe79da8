// Package eventlog reads, writes and replays TCG PC Client event logs: the
// crypto-agile format of the TCG PC Client Platform Firmware Profile
// (Spec ID Event03) and the legacy SHA-1 format of TCG 1.2 style logs.
//
// An event log is untrusted input. Parse checks its structure only, within
// fixed bounds (MaxLogSize, MaxEvents). Replay and ReplayAgainst compute
// what the log claims. Only Verified says which events are proven: those
// whose digests replay exactly to PCR values that the caller has verified
// inside a TPM quote, one bank at a time. Event types and data are never
// covered by a digest; callers that read data check it against the digest
// where the spec makes the digest the hash of the data (see package uefi).
//
// It is pure: no network, no storage, no logging, no clock.
package eventlog

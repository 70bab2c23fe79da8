// Package uefi reads the UEFI structures that firmware measures into PCR 7:
// UEFI_VARIABLE_DATA (TCG PC Client PFP §10.4.5, variables SecureBoot, PK,
// KEK, db, dbx), EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1) and the authority
// events that name the db entry which verified each boot application, and
// from them derives the Secure Boot state.
//
// It trusts nothing by itself: SecureBootState must be given only events
// that eventlog.(*Log).Verified returned, so their digests are proven by a
// quote. Event types and data are not covered by those digests, so every
// variable event's data is checked against its digest here, where the spec
// defines the digest as the hash of the data.
//
// It is pure: no network, no storage, no logging, no clock.
package uefi

// Package emurun runs one emulated host: it "manufactures" a TPM (the TCG
// reference TPM, seeded from the host name so the same name always has the
// same EK, with an EK certificate from the emulated maker CA), boots the
// emulated Secure Boot chain into it, then runs the ordinary agent against
// the verifier with the log and inventory that boot produced.
//
// The simulator allows one TPM per process, so each emulated host is its own
// process (`bootproof host`).
package emurun

package appraisal

import (
	"crypto/sha256"
	"encoding/hex"
)

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func hexs(b []byte) string { return hex.EncodeToString(b) }

// fingerprint is a certificate's SHA-256, as policies name certificates.
func fingerprint(der []byte) string { return hexs(sha(der)) }

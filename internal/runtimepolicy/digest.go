package runtimepolicy

import (
	"crypto"
	"encoding/hex"
	"fmt"
	"strings"
)

// hashAlgs are the file digest algorithms IMA logs, by the name the
// kernel's hash_algo_name gives them (and ima-ng writes before the colon),
// with their crypto.Hash for signatures. SM3 and Streebog are not here: Go
// has no implementation, and no distribution signs with them.
var hashAlgs = map[string]crypto.Hash{
	"sha1":   crypto.SHA1,
	"sha224": crypto.SHA224,
	"sha256": crypto.SHA256,
	"sha384": crypto.SHA384,
	"sha512": crypto.SHA512,
}

// ParseDigest reads a policy digest, "ALG:HEX" in lowercase (sha256:3f0a...):
// the algorithm is part of the digest, so a SHA-1 and a SHA-256 list can
// never be confused by their length.
func ParseDigest(s string) (alg string, sum []byte, err error) {
	alg, hx, ok := strings.Cut(s, ":")
	if !ok {
		return "", nil, fmt.Errorf("digest %q: want ALG:HEX, such as sha256:3f0a", s)
	}
	h, ok := hashAlgs[alg]
	if !ok {
		return "", nil, fmt.Errorf("digest %q: algorithm %q, want sha1, sha224, sha256, sha384 or sha512", s, alg)
	}
	if hx != strings.ToLower(hx) {
		return "", nil, fmt.Errorf("digest %q: want lowercase hex", s)
	}
	sum, err = hex.DecodeString(hx)
	if err != nil {
		return "", nil, fmt.Errorf("digest %q: not hex", s)
	}
	if len(sum) != h.Size() {
		return "", nil, fmt.Errorf("digest %q: %d bytes, %s is %d", s, len(sum), alg, h.Size())
	}
	return alg, sum, nil
}

// FormatDigest writes a digest as the policy does.
func FormatDigest(alg string, sum []byte) string {
	return alg + ":" + hex.EncodeToString(sum)
}

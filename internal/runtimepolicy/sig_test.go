package runtimepolicy

import (
	"crypto"
	"crypto/sha1"
	"errors"
	"reflect"
	"testing"
)

func TestParseSignature(t *testing.T) {
	sig := make([]byte, 256)
	tests := []struct {
		name    string
		b       []byte
		wantErr error
		want    Signature
	}{
		{"v2 sha256", header(SigTypeDigsig, 2, 4, 0x01020304, sig), nil, Signature{Type: 3, Version: 2, HashAlgo: 4, HashName: "sha256", Hash: crypto.SHA256, KeyID: 0x01020304}},
		{"v2 sha512 EVM portable", header(SigTypePortable, 2, 6, 7, sig), nil, Signature{Type: 5, Version: 2, HashAlgo: 6, HashName: "sha512", Hash: crypto.SHA512, KeyID: 7}},
		{"v3 fs-verity", header(SigTypeVerity, 3, 4, 7, sig), nil, Signature{Type: 6, Version: 3, HashAlgo: 4, HashName: "sha256", Hash: crypto.SHA256, KeyID: 7}},
		{"empty", nil, ErrSigMalformed, Signature{}},
		{"header cut", header(SigTypeDigsig, 2, 4, 1, sig)[:8], ErrSigMalformed, Signature{}},
		{"size larger than the bytes", header(SigTypeDigsig, 2, 4, 1, sig)[:100], ErrSigMalformed, Signature{}},
		{"bytes after the signature", append(header(SigTypeDigsig, 2, 4, 1, sig), 0), ErrSigMalformed, Signature{}},
		{"no signature", header(SigTypeDigsig, 2, 4, 1, nil), ErrSigMalformed, Signature{}},
		{"a digest xattr, not a signature", header(0x04, 2, 4, 1, sig), ErrSigMalformed, Signature{}},
		{"version 1", header(SigTypeDigsig, 1, 4, 1, sig), ErrSigVersion, Signature{}},
		{"IMA v3", header(SigTypeDigsig, 3, 4, 1, sig), nil, Signature{Type: 3, Version: 3, HashAlgo: 4, HashName: "sha256", Hash: crypto.SHA256, KeyID: 1}},
		{"IMA v4", header(SigTypeDigsig, 4, 4, 1, sig), ErrSigVersion, Signature{}},
		{"fs-verity v2", header(SigTypeVerity, 2, 4, 1, sig), ErrSigVersion, Signature{}},
		{"md5", header(SigTypeDigsig, 2, 1, 1, sig), ErrSigVersion, Signature{}},
		{"sm3", header(SigTypeDigsig, 2, 17, 1, sig), ErrSigVersion, Signature{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignature(tt.b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseSignature error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(got.Sig) != len(sig) {
				t.Errorf("signature is %d bytes, want %d", len(got.Sig), len(sig))
			}
			got.Sig = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseSignature = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestVerifySignature(t *testing.T) {
	rsaK, ecK, other := testKeys(t)
	ring, err := newKeyRing([]TrustedKey{{Certificate: rsaK.certPEM, Label: "rsa", Mode: ModeEnforce}, {Certificate: ecK.certPEM, Label: "ec", Mode: ModeEnforce}})
	if err != nil {
		t.Fatal(err)
	}
	d := fileDigest("#!/bin/sh\necho hello\n")
	d1 := sha1.Sum([]byte("legacy"))
	changed := fileDigest("#!/bin/sh\necho HELLO\n")
	bySKID := header(SigTypeDigsig, 2, 4, 0x01020304, rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d)[9:])
	tests := []struct {
		name    string
		sig     []byte
		alg     string
		digest  []byte
		wantKey string
		wantErr error
	}{
		{"RSA v2 sha256", rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha256", d, "rsa", nil},
		{"RSA v2 sha1", rsaK.sign(t, SigTypeDigsig, 2, 2, crypto.SHA1, d1[:]), "sha1", d1[:], "rsa", nil},
		{"ECDSA v2 sha256", ecK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha256", d, "ec", nil},
		{"key id from the certificate's SKID", bySKID, "sha256", d, "rsa", nil},
		{"RSA v3 IMA over ima_file_id", rsaK.sign(t, SigTypeDigsig, 3, 4, crypto.SHA256, d), "sha256", d, "rsa", nil},
		{"ECDSA v3 fs-verity over ima_file_id", ecK.sign(t, SigTypeVerity, 3, 4, crypto.SHA256, d), "sha256", d, "ec", nil},
		{"file changed after signing", rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha256", changed, "", ErrBadSignature},
		{"ECDSA file changed", ecK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha256", changed, "", ErrBadSignature},
		{"v3 checked as v2 fails", header(SigTypeVerity, 3, 4, ecK.keyID, ecK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d)[9:]), "sha256", d, "", ErrBadSignature},
		{"signed by an untrusted key", other.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha256", d, "", ErrUnknownKey},
		{"untrusted key claiming a trusted key id", header(SigTypeDigsig, 2, 4, rsaK.keyID, other.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d)[9:]), "sha256", d, "", ErrBadSignature},
		{"signature over another algorithm", rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha1", d1[:], "", ErrBadSignature},
		{"digest of the wrong size", rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, d), "sha256", d[:20], "", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSignature(tt.sig)
			if err != nil {
				t.Fatal(err)
			}
			k, err := ring.verify(s, tt.alg, tt.digest)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("verify error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && k.label != tt.wantKey {
				t.Errorf("verified by %q, want %q", k.label, tt.wantKey)
			}
		})
	}
}

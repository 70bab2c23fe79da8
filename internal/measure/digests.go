package measure

import (
	"crypto/sha1" // the sha1 bank: reported, never relied on
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
)

// Digests are one measurement's digest in each bank a TPM may have, as
// lowercase hex, named as policies and pcrs.json name the banks.
type Digests struct {
	SHA1   string `json:"sha1"`
	SHA256 string `json:"sha256"`
	SHA384 string `json:"sha384"`
	SHA512 string `json:"sha512"`
}

// Banks are the bank names, weakest first.
var Banks = []string{"sha1", "sha256", "sha384", "sha512"}

// Bank returns the digest in a bank named as Banks names it, or "".
func (d Digests) Bank(bank string) string {
	switch bank {
	case "sha1":
		return d.SHA1
	case "sha256":
		return d.SHA256
	case "sha384":
		return d.SHA384
	case "sha512":
		return d.SHA512
	}
	return ""
}

// FileDigests returns the plain digest of the file's bytes in every bank:
// what GRUB extends into PCR 9 for each file it reads.
func FileDigests(b []byte) Digests {
	return digestsOf(func(w io.Writer) { w.Write(b) })
}

// digestsOf hashes what write writes in every bank at once.
func digestsOf(write func(io.Writer)) Digests {
	hs := []hash.Hash{sha1.New(), sha256.New(), sha512.New384(), sha512.New()}
	ws := make([]io.Writer, len(hs))
	for i, h := range hs {
		ws[i] = h
	}
	write(io.MultiWriter(ws...))
	sum := func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	return Digests{SHA1: sum(hs[0]), SHA256: sum(hs[1]), SHA384: sum(hs[2]), SHA512: sum(hs[3])}
}

package emuhost

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"fmt"

	"github.com/bootproof/bootproof/internal/bundle"
)

// image is one executable of the emulated boot chain: deterministic bytes
// standing for a firmware volume, a boot loader or a kernel, with a
// signature over them (as Authenticode signs a PE image, the signature is
// not part of what is measured).
type image struct {
	role          string // "firmware", "boot loader", "kernel"
	name, version string
	body          []byte
	sig           []byte
	chain         []*x509.Certificate // signer's chain, leaf first; nil if unsigned
}

func (im *image) String() string { return fmt.Sprintf("%s %s %s", im.role, im.name, im.version) }

// imageBytes returns size deterministic bytes for name and version: a
// readable header followed by SHA-512 in counter mode.
func imageBytes(kind, name, version string, size int) []byte {
	out := []byte(fmt.Sprintf("EMUHOST %s %s %s\n", kind, name, version))
	for ctr := uint64(0); len(out) < size; ctr++ {
		h := sha512.New()
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", kind, name, version)
		binary.Write(h, binary.LittleEndian, ctr)
		out = h.Sum(out)
	}
	return out[:size]
}

// signedPrefix separates image signatures from bundle signatures made with
// the same key.
const imageSignedPrefix = "bootproof emulated image v1\x00"

// newImage makes the image of role, name and version whose bytes are drawn
// from content (two images with the same name can differ, as a bootkit
// passes for a boot loader), signed by s when s is not nil.
func newImage(role, content, name, version string, size int, s *bundle.Signer) (*image, error) {
	im := &image{role: role, name: name, version: version, body: imageBytes(content, name, version, size)}
	if s == nil {
		return im, nil
	}
	key, ok := s.Key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("sign %s: key type %T, emulated images are signed with Ed25519", im, s.Key)
	}
	im.sig = ed25519.Sign(key, append([]byte(imageSignedPrefix), im.body...))
	im.chain = s.Chain
	return im, nil
}

// verify checks the image's signature and that its signer is one of trusted
// or was issued by one of them, as firmware checks an image against db and
// a boot loader checks a kernel against the certificate it carries. It
// returns the trusted certificate that authorised the image. Validity dates
// are not checked: firmware has no trustworthy clock.
func (im *image) verify(trusted []*x509.Certificate, what string) (*x509.Certificate, error) {
	if len(im.chain) == 0 || len(im.sig) == 0 {
		return nil, fmt.Errorf("image is not signed")
	}
	leaf := im.chain[0]
	if err := leaf.CheckSignature(x509.PureEd25519, append([]byte(imageSignedPrefix), im.body...), im.sig); err != nil {
		return nil, fmt.Errorf("signature by %q does not verify: the image was modified after signing", leaf.Subject.CommonName)
	}
	for _, t := range trusted {
		if leaf.Equal(t) || leaf.CheckSignatureFrom(t) == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("signer %q (issued by %q) is not authorised by %s", leaf.Subject.CommonName, leaf.Issuer.CommonName, what)
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

package cli

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/bundle"
)

func newBundleCmd(stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Make vendor keys, sign, verify and inspect software bundles",
		Long: `A bundle is a signed package of boot-time payloads (the role of ESXi's VIBs):
a descriptor (name, version, vendor, acceptance level, each payload's name,
size, SHA-256 and SHA-512), an Ed25519 or ECDSA P-256 signature over it, and
the signer's X.509 chain, leaf first, in one JSON file.`,
	}
	cmd.AddCommand(newBundleKeygenCmd(stdio), newBundleSignCmd(stdio), newBundleVerifyCmd(stdio), newBundleInspectCmd(stdio))
	return cmd
}

func newBundleKeygenCmd(stdio IO) *cobra.Command {
	var vendor, out string
	var validFor time.Duration
	cmd := &cobra.Command{
		Use:   "keygen --vendor V --out DIR",
		Short: "Make a vendor root CA and a code-signing certificate (Ed25519)",
		Long: `Writes DIR/root.pem (give it to verifiers), DIR/root.key (keep it offline),
DIR/signing.pem and DIR/signing.key (for bootproof bundle sign). Existing
files are never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if vendor == "" || out == "" {
				return errors.New("keygen: --vendor and --out are required")
			}
			k, err := bundle.Keygen(bundle.KeygenOptions{Vendor: vendor, NotBefore: time.Now().Add(-time.Hour), Validity: validFor})
			if err != nil {
				return err
			}
			files, err := k.Files()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			for _, name := range []string{bundle.RootCertFile, bundle.RootKeyFile, bundle.SigningCertFile, bundle.SigningKeyFile} {
				if _, err := os.Stat(filepath.Join(out, name)); err == nil {
					return fmt.Errorf("keygen: %s already exists; not overwriting keys", filepath.Join(out, name))
				}
			}
			for _, name := range []string{bundle.RootCertFile, bundle.RootKeyFile, bundle.SigningCertFile, bundle.SigningKeyFile} {
				mode := os.FileMode(0o644)
				if strings.HasSuffix(name, ".key") {
					mode = 0o600
				}
				p := filepath.Join(out, name)
				if err := os.WriteFile(p, files[name], mode); err != nil {
					return fmt.Errorf("keygen: %w", err)
				}
				fmt.Fprintln(stdio.Out, "wrote", p)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&vendor, "vendor", "", "vendor name (certificate organisation)")
	f.StringVar(&out, "out", "", "directory for the key files")
	f.DurationVar(&validFor, "valid-for", 20*365*24*time.Hour, "validity of both certificates")
	return cmd
}

func newBundleSignCmd(stdio IO) *cobra.Command {
	var keyFile, certFile, chainFile, descFile, out string
	var name, version, vendor, acceptance string
	var payloads []string
	cmd := &cobra.Command{
		Use:   "sign --key K --cert C (--descriptor D.json | --name N --version V --vendor X --acceptance A) --payload FILE... --out B",
		Short: "Sign a bundle descriptor; payload digests are computed from --payload files",
		Long: `Signs a bundle. The descriptor comes from --descriptor (JSON; its payloads may
be left out) or from --name/--version/--vendor/--acceptance. Each --payload
FILE adds a payload named after the file's base name, with its size and
digests computed from the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyFile == "" || certFile == "" || out == "" {
				return errors.New("sign: --key, --cert and --out are required")
			}
			certPEM, err := os.ReadFile(certFile)
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			keyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			var chainPEM []byte
			if chainFile != "" {
				if chainPEM, err = os.ReadFile(chainFile); err != nil {
					return fmt.Errorf("sign: %w", err)
				}
			}
			s, err := bundle.LoadSigner(certPEM, keyPEM, chainPEM)
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			var d bundle.Descriptor
			if descFile != "" {
				if name != "" || version != "" || vendor != "" || acceptance != "" {
					return errors.New("sign: give either --descriptor or --name/--version/--vendor/--acceptance, not both")
				}
				if d, err = readDescriptor(descFile); err != nil {
					return fmt.Errorf("sign: %w", err)
				}
			} else {
				d = bundle.Descriptor{Name: name, Version: version, Vendor: vendor}
				if d.Acceptance, err = bundle.ParseAcceptance(acceptance); err != nil {
					return fmt.Errorf("sign: --acceptance: %w", err)
				}
			}
			for _, p := range payloads {
				data, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("sign: payload: %w", err)
				}
				d.Payloads = append(d.Payloads, bundle.NewPayload(filepath.Base(p), data))
			}
			b, err := bundle.Sign(d, s)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			fmt.Fprintf(stdio.Out, "signed %s %s (%s, %d payloads) by %q: %s\n", d.Name, d.Version, d.Acceptance, len(d.Payloads), s.Chain[0].Subject.CommonName, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyFile, "key", "", "signing key (PKCS #8 PEM)")
	f.StringVar(&certFile, "cert", "", "signing certificate (PEM; further certificates in it are its chain)")
	f.StringVar(&chainFile, "chain", "", "intermediate certificates (PEM), leaf's issuer first")
	f.StringVar(&descFile, "descriptor", "", "descriptor JSON")
	f.StringVar(&name, "name", "", "bundle name")
	f.StringVar(&version, "version", "", "bundle version")
	f.StringVar(&vendor, "vendor", "", "vendor name")
	f.StringVar(&acceptance, "acceptance", "", "certified, accepted, partner or community")
	f.StringArrayVar(&payloads, "payload", nil, "payload file (repeatable)")
	f.StringVar(&out, "out", "", "bundle file to write")
	return cmd
}

// readDescriptor reads a descriptor file whose payloads may still be empty
// (sign adds them from files), so it validates only after they are added.
func readDescriptor(path string) (bundle.Descriptor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return bundle.Descriptor{}, err
	}
	var d bundle.Descriptor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return bundle.Descriptor{}, fmt.Errorf("descriptor %s: %w", path, err)
	}
	return d, nil
}

func newBundleVerifyCmd(stdio IO) *cobra.Command {
	var rootsFile, payloadDir, at string
	cmd := &cobra.Command{
		Use:   "verify BUNDLE --roots R.pem [--payload-dir DIR]",
		Short: "Verify a bundle's signature and chain, and optionally its payloads",
		Long: `Checks that the bundle is well formed, that its leaf may sign code, that the
signature is the leaf's, and that the chain ends at one of the roots in
--roots, valid now (or --at). With --payload-dir, every payload named in the
descriptor is read from DIR and its size and digests are checked. Exits 1
with the reason when any check fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rootsFile == "" {
				return errors.New("verify: --roots is required")
			}
			now := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("verify: --at: %w", err)
				}
				now = t
			}
			rootsPEM, err := os.ReadFile(rootsFile)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			roots, err := bundle.ParseCertificatesPEM(rootsPEM)
			if err != nil {
				return fmt.Errorf("verify: roots %s: %w", rootsFile, err)
			}
			b, err := readBundle(args[0])
			if err != nil {
				return fmt.Errorf("verify %s: %w", args[0], err)
			}
			if err := b.Verify(roots, now); err != nil {
				return fmt.Errorf("verify %s: %w", args[0], err)
			}
			if payloadDir != "" {
				data := map[string][]byte{}
				for _, p := range b.Descriptor.Payloads {
					v, err := os.ReadFile(filepath.Join(payloadDir, p.Name))
					if errors.Is(err, fs.ErrNotExist) {
						continue // VerifyPayloads names it as missing
					}
					if err != nil {
						return fmt.Errorf("verify %s: %w", args[0], err)
					}
					data[p.Name] = v
				}
				if err := bundle.VerifyPayloads(&b.Descriptor, data); err != nil {
					return fmt.Errorf("verify %s: %w", args[0], err)
				}
			}
			d := b.Descriptor
			fmt.Fprintf(stdio.Out, "OK: %s %s from %s, acceptance %s, signed by %q", d.Name, d.Version, d.Vendor, d.Acceptance, b.SignerName())
			if payloadDir != "" {
				fmt.Fprintf(stdio.Out, ", %d payloads match", len(d.Payloads))
			}
			fmt.Fprintln(stdio.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rootsFile, "roots", "", "trusted vendor root certificates (PEM)")
	f.StringVar(&payloadDir, "payload-dir", "", "directory holding the payload files")
	f.StringVar(&at, "at", "", "verify at this time (RFC 3339) instead of now")
	return cmd
}

func readBundle(path string) (*bundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read one byte past the bound, so Parse reports a file that is too big.
	b, err := io.ReadAll(io.LimitReader(f, bundle.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	return bundle.Parse(b)
}

// certInfo is a certificate as inspect shows it.
type certInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	KeyType   string    `json:"key_type"`
	SHA256    string    `json:"sha256_fingerprint"`
}

func newCertInfo(c *x509.Certificate) certInfo {
	fp := sha256.Sum256(c.Raw)
	return certInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), KeyType: c.PublicKeyAlgorithm.String(), SHA256: hex.EncodeToString(fp[:])}
}

// bundleInspection is `bundle inspect --json`.
type bundleInspection struct {
	Descriptor bundle.Descriptor `json:"descriptor"`
	Alg        string            `json:"alg"`
	Chain      []certInfo        `json:"chain"`
	Verified   bool              `json:"verified"`
}

func newBundleInspectCmd(stdio IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect BUNDLE [--json]",
		Short: "Show a bundle's descriptor, signature algorithm and chain (nothing is verified)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readBundle(args[0])
			if err != nil {
				return fmt.Errorf("inspect %s: %w", args[0], err)
			}
			var chain []certInfo
			for _, c := range b.Chain {
				chain = append(chain, newCertInfo(c))
			}
			if asJSON {
				enc := json.NewEncoder(stdio.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(bundleInspection{b.Descriptor, b.Alg, chain, false})
			}
			d := b.Descriptor
			w := stdio.Out
			fmt.Fprintf(w, "bundle:     %s %s\nvendor:     %s\nacceptance: %s\nsignature:  %s (not verified; use bundle verify)\n", d.Name, d.Version, d.Vendor, d.Acceptance, b.Alg)
			fmt.Fprintf(w, "payloads:   %d\n", len(d.Payloads))
			for _, p := range d.Payloads {
				fmt.Fprintf(w, "  %-24s %10d bytes  sha256 %s\n", p.Name, p.Size, p.SHA256)
			}
			fmt.Fprintln(w, "chain:")
			for i, c := range chain {
				fmt.Fprintf(w, "  [%d] %s\n      issuer %s\n      valid %s to %s, %s, sha256 %s\n", i, c.Subject, c.Issuer,
					c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339), c.KeyType, c.SHA256)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package loadgen

import (
	"encoding/pem"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
)

// LoadPolicy is the policy the load group runs under: the default, trusting
// the emulated OS vendor's bundle root (as an operator trusts their
// vendors), attesting at interval.
func LoadPolicy(interval time.Duration) (*policy.Policy, error) {
	v, err := emuhost.DefaultVendors()
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	p := policy.Default()
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	if interval > 0 {
		p.Interval = interval
		p.VerdictMaxAge = 3 * interval
	}
	return p, nil
}

package verifier

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
)

// pinsFor returns the values pinned on host for p's per-host classes, for
// appraisal.Input.Pins; none (and no store read) when p has no per-host
// class. Pins of classes p no longer pins per host are left out.
func (v *Verifier) pinsFor(ctx context.Context, host string, p *policy.Policy) ([]appraisal.Pin, error) {
	if len(p.PerHost) == 0 {
		return nil, nil
	}
	stored, err := v.st.HostPins(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("pinned values of %s: %w", host, err)
	}
	var out []appraisal.Pin
	for _, sp := range stored {
		if p.IsPerHost(sp.Class) {
			out = append(out, appraisal.Pin{Class: sp.Class, Bank: sp.Bank, Digests: sp.Digests, Since: sp.Since, AcceptedBy: sp.AcceptedBy})
		}
	}
	return out, nil
}

// pinFirst pins, on a host's first Passed boot, its value of every per-host
// class that has no pin yet (had, the boot was judged by it). A boot that
// did not pass pins nothing: its value is not known good. The verdict is
// recorded already, so a failure to pin is logged, not returned: the next
// Passed boot pins.
func (v *Verifier) pinFirst(ctx context.Context, h store.Host, p *policy.Policy, had []appraisal.Pin, vd *appraisal.Verdict) {
	if vd.Status != appraisal.Passed || len(p.PerHost) == 0 {
		return
	}
	var pins []store.HostPin
	for _, class := range p.PerHost {
		if slices.ContainsFunc(had, func(pin appraisal.Pin) bool { return pin.Class == class }) {
			continue
		}
		if pin, ok := hostPin(h.Name, class, vd); ok {
			pin.Since = v.now()
			pins = append(pins, pin)
		}
	}
	if len(pins) == 0 {
		return
	}
	if err := v.st.PutPins(ctx, pins, false); err != nil {
		v.log.Error("pin per-host values", "host", h.Name, "err", err)
		return
	}
	v.log.Info("pinned per-host values on the first Passed boot", "host", h.Name, "classes", len(pins))
}

// hostPin is a verdict's value of a class as the store pins it.
func hostPin(host, class string, vd *appraisal.Verdict) (store.HostPin, bool) {
	bank, digests, ok := appraisal.PinValue(vd, class)
	return store.HostPin{Host: host, Class: class, Bank: bank, Digests: digests}, ok
}

// AcceptPins pins, for each named host, the value of class its latest
// verified evidence shows, replacing the pin (`bootproof hosts accept`): an
// operator saying a changed initramfs is the host's new good one. Every
// host is checked before anything is written, so a refusal changes
// nothing: the class must be per-host in the host's group
// (pin.not_per_host), and the evidence authentic (pin.unverified: a quote
// or the log's replay failed, so its digests prove nothing). The hosts are
// asked to attest now, to be judged by their new pins at once.
func (v *Verifier) AcceptPins(ctx context.Context, actor, class string, names []string) ([]store.HostPin, error) {
	if !slices.Contains(policy.Classes, class) {
		return nil, refuse(KindInvalid, "pin.class", "%q is not a component class, want one of %s", class, strings.Join(policy.Classes, ", "))
	}
	if len(names) == 0 {
		return nil, refuse(KindInvalid, "pin.no_hosts", "name at least one host")
	}
	pins := make([]store.HostPin, 0, len(names))
	for _, name := range names {
		pin, err := v.acceptable(ctx, name, class)
		if err != nil {
			return nil, err
		}
		pin.Since, pin.AcceptedBy = v.now(), actor
		pins = append(pins, pin)
	}
	if err := v.st.PutPins(ctx, pins, true); err != nil {
		return nil, fmt.Errorf("pin %s: %w", class, err)
	}
	for _, pin := range pins {
		v.audit(ctx, actor, "host.accept", pin.Host, fmt.Sprintf("%s pinned to %s %s", class, pin.Bank, strings.Join(pin.Digests, " ")))
		if _, err := v.st.RequestAttest(ctx, store.AttestSelector{Host: pin.Host}, v.now()); err != nil {
			v.log.Warn("ask an accepted host to attest", "host", pin.Host, "err", err)
		}
	}
	return pins, nil
}

// acceptable returns the pin of class that host's latest evidence shows,
// or why it cannot be accepted.
func (v *Verifier) acceptable(ctx context.Context, name, class string) (store.HostPin, error) {
	h, err := v.host(ctx, name)
	if err != nil {
		return store.HostPin{}, err
	}
	p, err := v.policies.get(ctx, h.Group)
	if err != nil {
		return store.HostPin{}, err
	}
	if !p.IsPerHost(class) {
		return store.HostPin{}, refuse(KindConflict, "pin.not_per_host", "host %q: group %q does not pin %s per host (policy per_host)", name, h.Group, class)
	}
	vd, _, err := v.LatestVerdict(ctx, name)
	if err != nil {
		return store.HostPin{}, err
	}
	return acceptedPin(name, class, vd)
}

// acceptedPin is the pin of class a verdict shows, refused (pin.unverified)
// unless its evidence is authentic: a bank whose replay failed beside one
// that held still leaves a decision bank, yet proves the log altered.
func acceptedPin(name, class string, vd *appraisal.Verdict) (store.HostPin, error) {
	pin, ok := hostPin(name, class, vd)
	if !authentic(vd) || !ok {
		return store.HostPin{}, refuse(KindConflict, "pin.unverified", "host %q: its latest evidence is not authentic (quote or event log replay failed); its %s cannot be accepted", name, class)
	}
	return pin, nil
}

package verifier

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/memo"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// A preview re-appraises every host's latest stored evidence under a
// proposed policy, stores nothing, and says which hosts would change
// status. It must answer for a fleet in seconds, so:
//   - hosts are streamed from the store a page at a time (never a fleet's
//     evidence in memory), to a worker per core;
//   - evidence blobs (event logs, PCR values, bundles) are read once per
//     preview by hash, and bundles verify once (the verifier's bundle memo);
//   - hosts that boot alike send the same blobs, and their verdicts differ
//     only in the quote, so each distinct set of blobs is appraised once
//     (the event log parsed and replayed once) and each host's own quotes
//     are checked with appraisal.QuotesHold; a host whose quotes do not
//     hold is appraised on its own.
//
// The stored quotes' nonce and clock are history: a preview checks each
// quote's signature, that it carries the nonce its evidence names, its PCR
// digest and the event log's replay, but not that the quote is fresh.

// PreviewNote says in every preview what was not re-checked.
const PreviewNote = "Each host's latest stored evidence was re-appraised: quote signatures, PCR digests and the event log replay were checked again; freshness (the nonce was issued now, the TPM clock moved on) was not, as the stored quotes are history. Nothing was stored."

// PreviewListed is how many changed hosts a preview lists by default.
const PreviewListed = 100

const (
	previewPage      = 500  // hosts per store page
	previewBlobCache = 4096 // blobs kept by hash during one preview
)

// Preview is what a proposed policy would do to a group's hosts.
type Preview struct {
	Group string `json:"group"`
	// Hosts is how many hosts with stored evidence were re-appraised.
	Hosts     int `json:"hosts"`
	WouldPass int `json:"would_pass"`
	WouldFail int `json:"would_fail"`
	WouldNA   int `json:"would_na"`
	// Unchanged and Changed compare with the status the host's latest
	// evidence was judged (not an Unreachable it moved to since).
	Unchanged int `json:"unchanged"`
	Changed   int `json:"changed"`
	// Unreadable counts hosts whose stored evidence could not be read back
	// (a blob pruned meanwhile); they are in no other count.
	Unreadable int `json:"unreadable"`
	// Changes lists changed hosts by name, at most the limit asked for;
	// More is how many more changed and are not listed.
	Changes []PreviewChange `json:"changes"`
	More    int             `json:"more"`
	// Appraisals is how many full appraisals the preview made (one per
	// distinct evidence whose quotes held, and one per other host).
	Appraisals int     `json:"appraisals"`
	Seconds    float64 `json:"seconds"`
	Note       string  `json:"note"`
}

// PreviewChange is one host whose status would change.
type PreviewChange struct {
	Host       string `json:"host"`
	From       string `json:"from"`
	To         string `json:"to"`
	ReasonCode string `json:"reason_code,omitempty"`
	Headline   string `json:"headline,omitempty"`
}

// outcome is what a preview keeps of one verdict.
type outcome struct {
	status, code, headline string
}

// PreviewPolicy re-appraises group's hosts under p, listing at most listed
// changed hosts (<= 0: PreviewListed).
func (v *Verifier) PreviewPolicy(ctx context.Context, group string, p *policy.Policy, listed int) (*Preview, error) {
	if err := CheckGroupName(group); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, refuse(KindInvalid, "policy.invalid", "%v", err)
	}
	if listed <= 0 {
		listed = PreviewListed
	}
	if _, err := v.st.GetGroup(ctx, group); errors.Is(err, store.ErrNotFound) {
		return nil, refuse(KindNotFound, "group.not_found", "group %q does not exist", group)
	} else if err != nil {
		return nil, err
	}
	// One preview at a time: each takes every core for up to seconds.
	if !v.previewing.CompareAndSwap(false, true) {
		return nil, refuse(KindConflict, "policy.preview_running", "another policy preview is running on this verifier; try again when it ends")
	}
	defer v.previewing.Store(false)
	start := time.Now()
	run := &previewRun{v: v, p: p, now: v.now(), blobs: memo.New[string, []byte](previewBlobCache),
		pcrs:     memo.New[string, pcrValues](previewBlobCache),
		verdicts: map[string]*sharedVerdict{}}
	out, err := run.all(ctx, group)
	if err != nil {
		return nil, err
	}
	out.finish(group, listed)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// previewRun is one preview's state, shared by its workers.
type previewRun struct {
	v     *Verifier
	p     *policy.Policy
	now   time.Time
	blobs *memo.Bounded[string, []byte] // by SHA-256
	// pcrs are decoded PCR values blobs, by SHA-256, shared by the hosts
	// that quoted them (read only).
	pcrs *memo.Bounded[string, pcrValues]
	// verdicts are the verdicts of evidence whose quotes held, by
	// evidenceKey: one entry per distinct boot of the fleet, so small.
	mu       sync.Mutex
	verdicts map[string]*sharedVerdict
}

// sharedVerdict is the verdict of one evidenceKey, made once by the first
// worker to need it while the others wait.
type sharedVerdict struct {
	once sync.Once
	o    outcome
}

// shared returns key's entry, and makes it when absent.
func (r *previewRun) shared(key string) *sharedVerdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	sv, ok := r.verdicts[key]
	if !ok {
		sv = &sharedVerdict{}
		r.verdicts[key] = sv
	}
	return sv
}

// all streams group's hosts to a worker per core and merges their tallies.
func (r *previewRun) all(ctx context.Context, group string) (*Preview, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hosts := make(chan store.HostEvidence, 2*previewPage)
	var readErr error
	go func() {
		defer close(hosts)
		readErr = r.stream(ctx, group, hosts)
	}()
	workers := runtime.GOMAXPROCS(0)
	tallies := make([]Preview, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for he := range hosts {
				r.one(ctx, he, &tallies[i])
			}
		}()
	}
	wg.Wait()
	if readErr != nil {
		return nil, fmt.Errorf("preview policy of group %s: %w", group, readErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &Preview{}
	for _, t := range tallies {
		out.add(t)
	}
	return out, nil
}

// stream sends group's hosts with evidence, page by page.
func (r *previewRun) stream(ctx context.Context, group string, to chan<- store.HostEvidence) error {
	after := ""
	for {
		page, err := r.v.st.ScanLatestEvidence(ctx, group, after, previewPage)
		if err != nil {
			return err
		}
		for _, he := range page {
			select {
			case to <- he:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if len(page) < previewPage {
			return nil
		}
		after = page[len(page)-1].Host.Name
	}
}

// one re-appraises one host into t.
func (r *previewRun) one(ctx context.Context, he store.HostEvidence, t *Preview) {
	was := he.Latest.Status
	if was == "" {
		was = he.Host.Status
	}
	o, full, err := r.judge(ctx, he)
	if err != nil {
		t.Unreadable++
		return
	}
	if full {
		t.Appraisals++
	}
	t.Hosts++
	switch o.status {
	case string(appraisal.Passed):
		t.WouldPass++
	case string(appraisal.NA):
		t.WouldNA++
	default:
		t.WouldFail++
	}
	if o.status == was {
		t.Unchanged++
		return
	}
	t.Changed++
	t.Changes = append(t.Changes, PreviewChange{Host: he.Host.Name, From: was, To: o.status, ReasonCode: o.code, Headline: o.headline})
}

// judge returns the verdict on he's evidence under the proposed policy,
// and whether it took a full appraisal (not the memo of an alike one).
func (r *previewRun) judge(ctx context.Context, he store.HostEvidence) (outcome, bool, error) {
	se, key, err := r.expand(ctx, he.Latest.Evidence)
	if err != nil {
		return outcome{}, false, err
	}
	h := he.Host
	in := appraisal.Input{Evidence: se.Evidence, EnrolledFamily: h.TPMFamily, AKPublic: se.AKPublic,
		Nonce: se.Evidence.Nonce, Policy: r.p, Now: r.now, BundleMemo: r.v.bundles}
	if in.AKPublic == nil {
		in.AKPublic = h.AKPublic
	}
	if h.TPMFamily != store.TPMFamily20 {
		in.Evidence = &wire.Evidence{Nonce: se.Evidence.Nonce, TPMFamily: h.TPMFamily}
		key = ""
	}
	if key == "" || !appraisal.QuotesHold(in) {
		return judgeOutcome(in), true, nil
	}
	sv, full := r.shared(key), false
	sv.once.Do(func() { sv.o, full = judgeOutcome(in), true })
	return sv.o, full, nil
}

// judgeOutcome is what a preview keeps of Judge's verdict.
func judgeOutcome(in appraisal.Input) outcome {
	j := Judge(in)
	return outcome{status: string(j.Verdict.Status), code: j.ReasonCode, headline: j.Reason}
}

// expand reads stored evidence back with the preview's blob memo, and
// returns the key of its repeating parts ("" when it has none: evidence
// stored before blobs, judged on its own).
func (r *previewRun) expand(ctx context.Context, stored []byte) (StoredEvidence, string, error) {
	se, refs, err := expandStored(stored, func(hs []string) (map[string][]byte, error) { return r.getBlobs(ctx, hs) },
		func(h string) (pcrValues, error) { return r.pcrValues(ctx, h) })
	if err != nil {
		return StoredEvidence{}, "", err
	}
	return se, evidenceKey(refs, se.Evidence), nil
}

// pcrValues decodes the PCR values blob h once per preview: decoding them
// was most of a preview's time per host when each host decoded its own.
func (r *previewRun) pcrValues(ctx context.Context, h string) (pcrValues, error) {
	if v, ok := r.pcrs.Get(h); ok {
		return v, nil
	}
	blobs, err := r.getBlobs(ctx, []string{h})
	if err != nil {
		return nil, err
	}
	v, err := blobReader(blobs).decodePCRs(h)
	if err != nil {
		return nil, err
	}
	r.pcrs.Put(h, v)
	return v, nil
}

// evidenceKey names what a verdict depends on beyond the host's quotes:
// the claimed family, the event log, the bundles and each quote's PCR
// values, by hash.
func evidenceKey(refs blobRefs, ev *wire.Evidence) string {
	if refs.empty() || len(refs.QuotePCRsSHA256) != len(ev.Quotes) || slices.Contains(refs.QuotePCRsSHA256, "") {
		return ""
	}
	return ev.TPMFamily + "|" + refs.EventLogSHA256 + "|" + strings.Join(refs.BundlesSHA256, ",") + "|" +
		strings.Join(refs.QuotePCRsSHA256, ",")
}

// getBlobs reads blobs through the preview's memo.
func (r *previewRun) getBlobs(ctx context.Context, hashes []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(hashes))
	var missing []string
	for _, h := range hashes {
		if b, ok := r.blobs.Get(h); ok {
			out[h] = b
		} else {
			missing = append(missing, h)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := r.v.st.GetBlobs(ctx, missing)
	if err != nil {
		return nil, err
	}
	for h, b := range got {
		r.blobs.Put(h, b)
		out[h] = b
	}
	return out, nil
}

// add merges a worker's tally.
func (p *Preview) add(t Preview) {
	p.Hosts += t.Hosts
	p.WouldPass += t.WouldPass
	p.WouldFail += t.WouldFail
	p.WouldNA += t.WouldNA
	p.Unchanged += t.Unchanged
	p.Changed += t.Changed
	p.Unreadable += t.Unreadable
	p.Appraisals += t.Appraisals
	p.Changes = append(p.Changes, t.Changes...)
}

// finish sorts the changes by host and keeps the first listed, counting
// the rest in More: a long list is cut, never silently.
func (p *Preview) finish(group string, listed int) {
	p.Group, p.Note = group, PreviewNote
	slices.SortFunc(p.Changes, func(a, b PreviewChange) int { return strings.Compare(a.Host, b.Host) })
	if len(p.Changes) > listed {
		p.More = len(p.Changes) - listed
		p.Changes = slices.Clip(p.Changes[:listed])
	}
	if p.Changes == nil {
		p.Changes = []PreviewChange{}
	}
}

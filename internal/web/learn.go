package web

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrPolicyChanged is what Actions.ApplyLearn returns, wrapped, when the
// group's policy changed since the operator saw the change: nothing is
// applied that was not shown.
var ErrPolicyChanged = errors.New("the group's policy changed since the preview")

// ErrNotAReference is what Actions.ApplyLearn returns, wrapped, when the
// host's latest boot can no longer be a reference (it attested again
// since the preview, and failed): nothing is applied.
var ErrNotAReference = errors.New("the host's latest boot cannot be a reference")

// LearnPreview is what "Take this boot as the group's reference" would
// do: the change to the group's policy, or why the boot cannot be a
// reference.
type LearnPreview struct {
	Group string
	// Version is the policy version the change starts from; the confirm
	// form sends it back.
	Version string
	// Changes are the diff's lines ("+ kernel: ...", "~ kernel: ...
	// expires ..."), as `bootproof policy learn` prints them.
	Changes []string
	// Blocking, when set, are the checks that keep this boot from being
	// a reference; the page then offers no confirm button.
	Blocking []LearnBlocker
}

// LearnBlocker is one check that blocks the boot, by code and sentence.
type LearnBlocker struct {
	Code    string
	Message string
}

// learnView is the confirm page.
type learnView struct {
	pageView
	Name, Href string
	LearnPreview
}

// learnPreview is the reference button: it shows the change, and a confirm
// button, or the blocking checks and none. Nothing changes here.
func (h *handler) learnPreview(w http.ResponseWriter, r *http.Request, s session) error {
	if err := h.checkAction(w, r, s); err != nil {
		return err
	}
	name := r.PathValue("name")
	p, err := h.cfg.Actions.PreviewLearn(r.Context(), s.Name, name)
	if err != nil {
		return actionFailed(err, "preview the reference change", name, s.Name)
	}
	v := learnView{pageView: h.pageView(r, s, "Take "+name+"'s boot as the reference"), Name: name, Href: hostHref(name), LearnPreview: p}
	// 200 also when refused: the page answered what was asked (what the
	// change would be), and nothing was attempted.
	h.render(w, r, http.StatusOK, "learn", v)
	return nil
}

// learnConfirm applies the change previewed, against the version shown.
func (h *handler) learnConfirm(w http.ResponseWriter, r *http.Request, s session) error {
	if err := h.checkAction(w, r, s); err != nil {
		return err
	}
	name := r.PathValue("name")
	version := r.PostFormValue("version")
	if version == "" {
		return &httpError{Code: http.StatusBadRequest, Msg: "The confirmation names no policy version; take the reference again from the host page."}
	}
	err := h.cfg.Actions.ApplyLearn(r.Context(), s.Name, name, version)
	if errors.Is(err, ErrPolicyChanged) {
		return &httpError{Code: http.StatusConflict, Msg: fmt.Sprintf("The policy of host %q's group changed since you saw the change; nothing was applied. Take the reference again from the host page to see the change as it is now.", clip(name))}
	}
	if errors.Is(err, ErrNotAReference) {
		return &httpError{Code: http.StatusConflict, Msg: fmt.Sprintf("Host %q's latest boot can no longer be a reference; nothing was applied. Take the reference again from the host page to see why.", clip(name))}
	}
	if err != nil {
		return actionFailed(err, "take reference", name, s.Name)
	}
	h.log.Info("report action", "action", "reference", "host", name, "actor", s.Name, "version", version)
	http.Redirect(w, r, hostHref(name)+"?done=reference", http.StatusSeeOther)
	return nil
}

package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

func (h *handler) fleet(w http.ResponseWriter, r *http.Request, s session) error {
	q, err := ParseFleetQuery(r.URL.Query())
	if err != nil {
		return badRequest(err)
	}
	fp, err := h.cfg.Source.Fleet(r.Context(), q)
	if err != nil {
		return fmt.Errorf("read fleet: %w", err)
	}
	latest, err := h.cfg.Source.LatestChange(r.Context())
	if err != nil {
		return fmt.Errorf("read latest change: %w", err)
	}
	now := h.now()
	v := newFleetView(h.pageView(r, s, "Security report"), q, fp, latest, now)
	v.PollMillis = h.cfg.PollInterval.Milliseconds()
	h.render(w, r, http.StatusOK, "fleet", v)
	return nil
}

// Results of the buttons, shown on the host page after the redirect. The
// URL carries a code, never text, so it cannot be used to put words on
// the page.
var flashes = map[string]string{
	"attest":    "Attestation requested. This page shows the result once the host has answered.",
	"reference": "This host's boot is now its group's reference.",
}

func (h *handler) host(w http.ResponseWriter, r *http.Request, s session) error {
	name := r.PathValue("name")
	d, err := h.cfg.Source.Host(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		return &httpError{Code: http.StatusNotFound, Msg: fmt.Sprintf("No host is named %q.", clip(name))}
	}
	if err != nil {
		return fmt.Errorf("read host %q: %w", name, err)
	}
	v := newHostView(h.pageView(r, s, "Host "+d.Name), d, h.now())
	v.HasActions = h.cfg.Actions != nil
	v.CanAct = v.HasActions && s.token != "" && s.Can(RoleOperator)
	v.Flash = flashes[r.URL.Query().Get("done")]
	h.render(w, r, http.StatusOK, "host", v)
	return nil
}

// checkAction is what every button's POST must pass: actions offered, an
// operator signed in with a token, and the form's CSRF token.
func (h *handler) checkAction(w http.ResponseWriter, r *http.Request, s session) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInBody)
	if h.cfg.Actions == nil {
		return &httpError{Code: http.StatusNotFound, Msg: "This verifier offers no actions."}
	}
	if s.token == "" || !s.Can(RoleOperator) {
		return &httpError{Code: http.StatusForbidden, Msg: "Only an operator or an admin may do this; sign in with such a token."}
	}
	if !s.checkCSRF(r) {
		return &httpError{Code: http.StatusForbidden, Msg: "The form is stale or came from another site; reload the host page and try again."}
	}
	return nil
}

// actionFailed is the page of a button whose action failed: 404 for an
// unknown host, else 502 with the details in the log only.
func actionFailed(err error, what, name, actor string) error {
	if errors.Is(err, ErrNotFound) {
		return &httpError{Code: http.StatusNotFound, Msg: fmt.Sprintf("No host is named %q.", clip(name))}
	}
	return &httpError{Code: http.StatusBadGateway,
		Msg: fmt.Sprintf("The verifier could not %s for host %q; its log has the details.", what, clip(name)),
		Err: fmt.Errorf("%s for host %q by %q: %w", what, name, actor, err)}
}

// attest is the "Attest now" button.
func (h *handler) attest(w http.ResponseWriter, r *http.Request, s session) error {
	if err := h.checkAction(w, r, s); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := h.cfg.Actions.AttestNow(r.Context(), s.Name, name); err != nil {
		return actionFailed(err, "request attestation", name, s.Name)
	}
	h.log.Info("report action", "action", "attest", "host", name, "actor", s.Name)
	http.Redirect(w, r, hostHref(name)+"?done=attest", http.StatusSeeOther)
	return nil
}

// eventsReply is what the fleet page polls: when anything last changed.
type eventsReply struct {
	Latest string `json:"latest"` // RFC 3339 with nanoseconds, UTC; "" when nothing ever changed
}

func (h *handler) events(w http.ResponseWriter, r *http.Request, s session) error {
	latest, err := h.cfg.Source.LatestChange(r.Context())
	if err != nil {
		return fmt.Errorf("read latest change: %w", err)
	}
	var rep eventsReply
	if !latest.IsZero() {
		rep.Latest = latest.UTC().Format(time.RFC3339Nano)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(rep)
}

func (h *handler) signInForm(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	v := signInView{pageView: h.pageView(r, session{}, "Sign in"), Next: localPath(r.URL.Query().Get("next"))}
	h.render(w, r, http.StatusOK, "signin", v)
}

func (h *handler) signIn(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInBody)
	v := signInView{pageView: h.pageView(r, session{}, "Sign in")}
	if err := r.ParseForm(); err != nil {
		v.Error = "The sign-in form could not be read; reload the page and try again."
		h.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	v.Next = localPath(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	switch {
	case token == "":
		v.Error = "Enter an API token."
		h.render(w, r, http.StatusBadRequest, "signin", v)
		return
	case len(token) > maxTokenLen:
		v.Error = fmt.Sprintf("That is longer than any API token (%d bytes at most).", maxTokenLen)
		h.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	if h.cfg.Auth == nil {
		v.Error = "This verifier has no sign-in; the report is open to everyone."
		h.render(w, r, http.StatusNotFound, "signin", v)
		return
	}
	p, err := h.cfg.Auth.Authenticate(r.Context(), token)
	if err == nil && !p.Can(RoleViewer) {
		err = fmt.Errorf("role %q: %w", p.Role, ErrInvalidToken)
	}
	if errors.Is(err, ErrInvalidToken) {
		v.Error = "That token is not valid: it is unknown, expired or revoked, or its role may not read the report."
		h.render(w, r, http.StatusUnauthorized, "signin", v)
		return
	}
	if err != nil {
		h.log.Error("authenticate sign-in", "err", err)
		v.Error = "The verifier could not check the token; try again later."
		h.render(w, r, http.StatusInternalServerError, "signin", v)
		return
	}
	setTokenCookie(w, r, token)
	h.log.Info("report sign-in", "principal", p.Name, "role", p.Role)
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

func (h *handler) signOut(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInBody)
	if s, err := h.authenticate(r.Context(), r); err == nil && !s.checkCSRF(r) {
		h.renderError(w, r, s, http.StatusForbidden, "The form is stale or came from another site; reload the page and try again.")
		return
	}
	clearTokenCookie(w, r)
	http.Redirect(w, r, PathSignIn, http.StatusSeeOther)
}

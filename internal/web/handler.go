package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Config is what the report needs from the verifier.
type Config struct {
	Source  Source        // required
	Actions Actions       // nil: the host page shows no buttons
	Auth    Authenticator // required unless AuthDisabled
	// AuthDisabled lets anyone read the report without a token, as a
	// viewer. Only for `bootproof demo`; buttons still need a signed-in
	// operator.
	AuthDisabled bool
	// Store, when set, says whether the verifier can write its store;
	// when it cannot, every page shows a banner with the data's age.
	Store func(context.Context) StoreState
	Now   func() time.Time // nil: time.Now
	Log   *slog.Logger     // nil: discard
	// PollInterval is how often the fleet page asks whether anything
	// changed; 0 means 5 s.
	PollInterval time.Duration
}

// validate returns every problem with cfg at once.
func (c Config) validate() error {
	var errs []error
	if c.Source == nil {
		errs = append(errs, errors.New("web config: Source is nil"))
	}
	if c.Auth == nil && !c.AuthDisabled {
		errs = append(errs, errors.New("web config: Auth is nil and AuthDisabled is false (nobody could sign in)"))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("web config: PollInterval %v is negative", c.PollInterval))
	}
	return errors.Join(errs...)
}

// Paths the report serves.
const (
	PathFleet      = "/"
	PathHostPrefix = "/hosts/"
	PathExportCSV  = "/export.csv"
	PathExportJSON = "/export.json"
	PathEvents     = "/events"
	PathSignIn     = "/signin"
	PathSignOut    = "/signout"
	PathStatic     = "/static/"
)

// Register adds the report's routes to mux: the fleet page at "/", a page
// per host under "/hosts/{name}" (with POST ".../attest", ".../reference"
// (the confirm page) and ".../reference/confirm" for operators), "/export.csv", "/export.json",
// "/events" (JSON, polled by the fleet page), "/signin", "/signout" and the
// embedded assets under "/static/".
func Register(mux *http.ServeMux, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	h := newHandler(cfg)
	cop := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /{$}", h.page(h.fleet))
	mux.HandleFunc("GET /hosts/{name}", h.page(h.host))
	mux.Handle("POST /hosts/{name}/attest", cop.Handler(h.page(h.attest)))
	mux.Handle("POST /hosts/{name}/reference", cop.Handler(h.page(h.learnPreview)))
	mux.Handle("POST /hosts/{name}/reference/confirm", cop.Handler(h.page(h.learnConfirm)))
	mux.HandleFunc("GET "+PathExportCSV, h.api(h.exportCSV))
	mux.HandleFunc("GET "+PathExportJSON, h.api(h.exportJSON))
	mux.HandleFunc("GET "+PathEvents, h.api(h.events))
	mux.HandleFunc("GET "+PathSignIn, h.signInForm)
	mux.Handle("POST "+PathSignIn, cop.Handler(http.HandlerFunc(h.signIn)))
	mux.Handle("POST "+PathSignOut, cop.Handler(http.HandlerFunc(h.signOut)))
	mux.Handle("GET "+PathStatic, staticHandler())
	return nil
}

type handler struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

func newHandler(cfg Config) *handler {
	h := &handler{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.cfg.PollInterval == 0 {
		h.cfg.PollInterval = 5 * time.Second
	}
	return h
}

// unavailableRetryAfter is the Retry-After (seconds) of a 503 answered
// while the verifier cannot read its store.
const unavailableRetryAfter = "5"

// httpError is an error with the status and the message a user sees; Err,
// if any, goes only to the log.
type httpError struct {
	Code int
	Msg  string
	Err  error
}

func (e *httpError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *httpError) Unwrap() error { return e.Err }

func badRequest(err error) error { return &httpError{Code: http.StatusBadRequest, Msg: err.Error()} }

// pageFunc handles a request from someone who may read the report.
type pageFunc func(w http.ResponseWriter, r *http.Request, s session) error

// page wraps an HTML page: it sends a browser without a valid token to
// the sign-in page and renders errors as pages.
func (h *handler) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		s, err := h.authenticate(r.Context(), r)
		if err != nil {
			if !mustSignIn(err) {
				h.fail(w, r, session{}, fmt.Errorf("authenticate request: %w", err))
				return
			}
			if r.Header.Get("Authorization") != "" {
				h.renderError(w, r, session{}, http.StatusUnauthorized, "The Authorization header does not hold a valid API token.")
				return
			}
			if _, fromCookie, _ := tokenFrom(r); fromCookie {
				clearTokenCookie(w, r) // revoked or expired: forget it
			}
			next := defaultNextPage
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, PathSignIn+"?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if err := fn(w, r, s); err != nil {
			h.fail(w, r, s, err)
		}
	}
}

// api wraps an endpoint for programs and scripts (exports, polling): no
// redirects, a 401 with a short text when the token is missing or wrong.
func (h *handler) api(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		s, err := h.authenticate(r.Context(), r)
		if err != nil {
			if mustSignIn(err) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bootproof"`)
				http.Error(w, "401 unauthorized: sign in or send an API token as \"Authorization: Bearer <token>\"", http.StatusUnauthorized)
				return
			}
			code, msg := h.classify(r, fmt.Errorf("authenticate request: %w", err))
			if code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", unavailableRetryAfter)
			}
			http.Error(w, fmt.Sprintf("%d %s", code, msg), code)
			return
		}
		if err := fn(w, r, s); err != nil {
			code, msg := h.classify(r, err)
			http.Error(w, fmt.Sprintf("%d %s", code, msg), code)
		}
	}
}

// classify turns a handler's error into a status and a message fit to show.
func (h *handler) classify(r *http.Request, err error) (int, string) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		if he.Code >= 500 {
			h.log.Error("serve report", "path", r.URL.Path, "err", err)
		}
		return he.Code, he.Msg
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, ErrUnavailable):
		h.log.Warn("serve report", "path", r.URL.Path, "err", err)
		return http.StatusServiceUnavailable, "The verifier cannot read its store just now, so it cannot check " +
			"your sign-in or show its data. You are still signed in: reload this page in a moment."
	case errors.Is(err, context.Canceled):
		return 499, "request cancelled"
	}
	h.log.Error("serve report", "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, "the verifier could not answer; its log has the details"
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, s session, err error) {
	code, msg := h.classify(r, err)
	if code == 499 {
		return
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", unavailableRetryAfter)
	}
	h.renderError(w, r, s, code, msg)
}

func (h *handler) renderError(w http.ResponseWriter, r *http.Request, s session, code int, msg string) {
	v := errorView{pageView: h.pageView(r, s, httpStatusTitle(code)), Code: code, Message: msg}
	h.render(w, r, code, "error", v)
}

func httpStatusTitle(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Error"
}

func (h *handler) pageView(r *http.Request, s session, title string) pageView {
	now := h.now()
	pv := pageView{Title: title, CSRF: s.CSRF(), AssetTag: assetTag, Now: newTimeView(now, now)}
	if h.cfg.Store != nil {
		if st := h.cfg.Store(r.Context()); !st.Writable {
			pv.StoreProblem, pv.DataAsOf = st.Problem, newTimeView(st.LastWrite, now)
		}
	}
	if s.Name != "" {
		pv.User = s.Name + " (" + s.Role + ")"
		pv.CanSignIn = s.token == ""
	}
	return pv
}

// render writes a page. It renders into a buffer first so that a
// template error becomes a clean 500 and not half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, page string, data any) {
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render page", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "500 internal server error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// contentSecurityPolicy allows this origin only, and no inline script or
// style: whatever a hostile host name smuggles past escaping cannot run.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

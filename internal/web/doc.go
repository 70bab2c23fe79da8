// Package web serves the security report: the HTML5 pages a fleet operator
// reads in a browser (the fleet at a glance, a page per host) and their CSV
// and JSON exports. Templates, CSS and JavaScript are embedded in the binary,
// so the report needs nothing from outside (datacenters are often air-gapped).
//
// The package judges nothing. It renders what its Source says, which the
// verifier computed from evidence it checked; it trusts the Source and the
// Authenticator it is given, and nothing a browser sends. Every request is
// authenticated (unless the operator turned that off for a demo), every
// value is escaped by html/template, every state-changing form is a POST
// with a CSRF token and passes Go's cross-origin protection, and every page
// carries a Content-Security-Policy that allows only this origin.
//
// It declares, on the consumer side, the small interfaces it needs from the
// verifier (Source, Actions, Authenticator) with plain view-model types, so
// that the verifier adapts to it and not the other way round. What booted
// is the exception: the host page takes the verdict's components, Secure
// Boot state and unjudged measurements as the appraisal records them and
// words them with package bootview, which `bootproof hosts show` uses too,
// so that both say the same thing in the same words.
package web

// Package bootview words what booted for people: it turns a verdict's
// components, Secure Boot state and unjudged measurements into the strings
// the host page and `bootproof hosts show` print, so that both say the same
// thing in the same words (an operator who reads one and then the other
// must not have to translate).
//
// It judges nothing and reads only the verdict; it imports the pure core
// (appraisal, policy) and nothing else of the project, so the web report
// and the CLI can both import it.
package bootview

package verifier

import (
	"regexp"
)

// GroupNameRule is the form of a group name, as the error states it.
const GroupNameRule = "[a-z0-9][a-z0-9._-]{0,62}"

// A group name ends up in URLs, log lines, CSV cells, the web report and
// trust tokens: a name such as "=1+2", one with a newline, or one of 5,000
// characters is refused wherever a name enters (join tokens, policy set
// and learn, host moves), not escaped at every exit. Groups stored before
// names were checked stay readable and their hosts keep attesting; no
// write may name one, so an operator moves their hosts to a valid group.
var groupNameRE = regexp.MustCompile(`^` + GroupNameRule + `$`)

// ValidGroupName reports whether s may name a group.
func ValidGroupName(s string) bool { return groupNameRE.MatchString(s) }

// CheckGroupName refuses a group name that does not fit GroupNameRule
// (KindInvalid, code group.name), quoting at most 64 bytes of it.
func CheckGroupName(name string) error {
	if ValidGroupName(name) {
		return nil
	}
	shown := name
	if len(shown) > 64 {
		shown = shown[:64] + "..."
	}
	return refuse(KindInvalid, "group.name",
		"group name %q (%d bytes) is not valid: a group name is 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit (%s)",
		shown, len(name), GroupNameRule)
}

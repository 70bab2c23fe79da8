package verifier

import (
	"strings"
	"testing"
)

// TestCheckGroupName: the rule [a-z0-9][a-z0-9._-]{0,62}, and a refusal
// that states it and quotes no more than 64 bytes of the name.
func TestCheckGroupName(t *testing.T) {
	for _, ok := range []string{"lab", "default", "esx", "prod-a", "a", "0.9_x-y", strings.Repeat("a", 63)} {
		if err := CheckGroupName(ok); err != nil {
			t.Errorf("CheckGroupName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "=1+2", "Lab", "lAb", "-lab", ".lab", "lab\n", "la b", "lab/x", "läb", strings.Repeat("a", 64), strings.Repeat("a", 5000)} {
		err := CheckGroupName(bad)
		e, ok := AsError(err)
		if !ok || e.Kind != KindInvalid || e.Code != "group.name" || !strings.Contains(e.Message, GroupNameRule) {
			t.Errorf("CheckGroupName(%.20q) = %v, want KindInvalid group.name stating the rule", bad, err)
			continue
		}
		if len(e.Message) > 300 {
			t.Errorf("CheckGroupName(%.20q): message of %d bytes, want the name cut short", bad, len(e.Message))
		}
	}
}

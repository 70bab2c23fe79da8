package tpmtest

import (
	"testing"

	"github.com/bootproof/bootproof/internal/tpm"
)

func TestNewSimulator(t *testing.T) {
	d := NewSimulator(t, 1)
	if f, err := d.Family(); err != nil || f != tpm.FamilyTPM20 {
		t.Errorf("Family() = %v, %v; want 2.0", f, err)
	}
}

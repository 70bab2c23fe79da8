package csvsafe

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// TestWriterDefusesFormulas: every formula-starting cell comes back as
// text with a leading quote; other cells are unchanged.
func TestWriterDefusesFormulas(t *testing.T) {
	in := []string{"=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "lab", "", "a=b", "'=already"}
	want := []string{"'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "lab", "", "a=b", "'=already"}
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&b).Read()
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d: %q written as %q, want %q", i, in[i], got[i], want[i])
		}
	}
}

// TestCell: only a cell a spreadsheet would read as a formula changes.
func TestCell(t *testing.T) {
	tests := map[string]string{
		"":            "",
		"esx-01":      "esx-01",
		"=1+1":        "'=1+1",
		"+1":          "'+1",
		"-1":          "'-1",
		"@SUM(A1)":    "'@SUM(A1)",
		"\t=1":        "'\t=1",
		"\r=1":        "'\r=1",
		"a=1":         "a=1",
		"Secure Boot": "Secure Boot",
	}
	for in, want := range tests {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

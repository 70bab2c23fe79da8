package api_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
)

// TestWriteCSVHeadlineThenList: the report's CSV gives each host's
// headline (reason_code, reason) in columns of their own, before the list
// of every failed check, so a spreadsheet shows the same first reason as
// hosts list and the web page, never the first check in check order.
func TestWriteCSVHeadlineThenList(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	rows := []api.ReportRow{
		{Name: "esx-04-tampered-kernel", Group: "esx", TPMFamily: "2.0", Status: "Failed", StatusSince: at, LastAttested: &at,
			ReasonCode: "reference.kernel", Reason: "The kernel \"vmlinuz\" is not among the policy's reference values.",
			ReasonCodes: []string{"secureboot.disabled", "reference.kernel"},
			Reasons:     []string{"Secure Boot was disabled at boot.", "The kernel \"vmlinuz\" is not among the policy's reference values."}},
		{Name: "esx-01-good", Group: "esx", TPMFamily: "2.0", Status: "Passed", StatusSince: at, LastAttested: &at, TrustLevel: "secure_boot_only",
			Reasons: []string{}, ReasonCodes: []string{}},
		{Name: "esx-09-tpm12", Group: "esx", TPMFamily: "1.2", Status: "N/A", StatusSince: at,
			ReasonCode: "tpm.not_tpm20", Reason: "=no TPM 2.0", ReasonCodes: []string{"tpm.not_tpm20"}, Reasons: []string{"=no TPM 2.0"}},
	}
	var got bytes.Buffer
	if err := api.WriteCSV(&got, rows); err != nil {
		t.Fatal(err)
	}
	// The golden file is the CSV contract; edit it when the columns change
	// on purpose.
	const golden = "testdata/report.csv"
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("report CSV:\n%s\nwant (%s):\n%s", got.String(), golden, want)
	}
}

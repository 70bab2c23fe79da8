package cli

import "fmt"

// The evidence folder's files, as `hosts evidence` and `evidence` write
// them and `appraise` reads them: named once so that writer and reader
// cannot drift apart.
const (
	fileEventLog = "eventlog.bin"
	filePCRs     = "pcrs.json"
	fileEvidence = "evidence.json" // hosts evidence: the verifier's answer
	fileHost     = "host.json"     // evidence: the emulated host's identity
	fileNonce    = "nonce.bin"
	fileAK       = "ak.pub"
)

// quoteFiles names quote i's TPMS_ATTEST and TPMT_SIGNATURE files.
func quoteFiles(i int) (attest, sig string) {
	return fmt.Sprintf("quote-%d.attest", i), fmt.Sprintf("quote-%d.sig", i)
}

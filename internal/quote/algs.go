package quote

// TPM_ALG_ID values (TPM 2.0 Part 2 §6.3) and other constants the decoders
// check. They are exported so callers can compare the decoded fields
// without importing go-tpm.
const (
	AlgRSA        uint16 = 0x0001
	AlgSHA1       uint16 = 0x0004
	AlgAES        uint16 = 0x0006
	AlgSHA256     uint16 = 0x000B
	AlgSHA384     uint16 = 0x000C
	AlgSHA512     uint16 = 0x000D
	AlgNull       uint16 = 0x0010
	AlgRSASSA     uint16 = 0x0014
	AlgRSAES      uint16 = 0x0015
	AlgRSAPSS     uint16 = 0x0016
	AlgOAEP       uint16 = 0x0017
	AlgECDSA      uint16 = 0x0018
	AlgECDH       uint16 = 0x0019
	AlgECDAA      uint16 = 0x001A
	AlgECMQV      uint16 = 0x001D
	AlgECC        uint16 = 0x0023
	algMGF1       uint16 = 0x0007
	algKDF56A     uint16 = 0x0020 // TPM_ALG_KDF1_SP800_56A
	algKDF2       uint16 = 0x0021
	algKDF108     uint16 = 0x0022 // TPM_ALG_KDF1_SP800_108
	CurveP256     uint16 = 0x0003 // TPM_ECC_NIST_P256
	CurveP384     uint16 = 0x0004
	CurveP521     uint16 = 0x0005
	generated     uint32 = 0xff544347 // TPM_GENERATED_VALUE
	stAttestQuote uint16 = 0x8018     // TPM_ST_ATTEST_QUOTE
)

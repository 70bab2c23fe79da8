package wire

// ProtocolVersion is the agent protocol's feature level within /agent/v1.
//
//	1: enrolment with credential activation, nonce challenge, evidence.
const ProtocolVersion = 1

// TPM families as agents report them.
const (
	FamilyTPM20 = "2.0"
	FamilyTPM12 = "1.2"
	FamilyNone  = "none"
)

// MaxEventLogBytes bounds the firmware event log of one attestation. Of the 69
// real machines' logs in the corpus the tests read, the median is 24 KB
// and the largest 73 KB; 1 MiB leaves room for firmware with many option
// ROMs and boot entries. A larger log is refused
// (evidence.event_log_too_large), not stored: a host's status changes keep
// their evidence, and a log is most of it. Runtime (IMA) logs are not part
// of this log.
const MaxEventLogBytes = 1 << 20

// MaxBodyBytes bounds every agent request body: an event log at its limit
// is 1.4 MiB as base64, which leaves about 600 KB for quotes and bundle
// files (a few KB each).
const MaxBodyBytes = 2 << 20

// EnrollRequest starts enrolment. For a TPM 2.0 host it carries the EK and a
// freshly created AK; the verifier answers with a credential challenge.
type EnrollRequest struct {
	ProtocolVersion int    `json:"protocol_version"`
	JoinToken       string `json:"join_token"`
	Host            string `json:"host"`
	TPMFamily       string `json:"tpm_family"`
	// EKPublic is the EK's TPMT_PUBLIC as the TPM returned it.
	EKPublic []byte `json:"ek_public,omitempty"`
	// EKCert is the EK certificate (DER) read from the TPM's NV index, if any.
	EKCert []byte `json:"ek_cert,omitempty"`
	// AKPublic is the AK's TPMT_PUBLIC. Its name is what credential
	// activation binds to the EK.
	AKPublic []byte `json:"ak_public,omitempty"`
	// ClientPublicKey (PKIX DER) is the key of the agent's mTLS identity; the
	// verifier certifies it when enrolment succeeds. The private key never leaves the host.
	ClientPublicKey []byte `json:"client_public_key"`
}

// EnrollChallenge is the verifier's TPM2_MakeCredential output for the AK's
// name, encrypted to the EK. Only the TPM holding both keys can recover the
// secret with TPM2_ActivateCredential.
type EnrollChallenge struct {
	ChallengeID    string `json:"challenge_id"`
	CredentialBlob []byte `json:"credential_blob"` // TPM2B_ID_OBJECT contents
	EncryptedSeed  []byte `json:"encrypted_seed"`  // TPM2B_ENCRYPTED_SECRET contents
}

// ReactivateRequest asks an enrolled host's verifier to accept a new AK
// from the same TPM, for example after the TPM lost its state. The request
// comes over the host's mutual TLS; the verifier challenges the new AK
// against the EK it enrolled, never against one the request names.
type ReactivateRequest struct {
	AKPublic []byte `json:"ak_public"`
}

// EnrollAnswer answers an EnrollRequest: a credential challenge for a TPM
// 2.0 host, the result at once for a host that cannot attest.
type EnrollAnswer struct {
	Challenge *EnrollChallenge `json:"challenge,omitempty"`
	Result    *EnrollResult    `json:"result,omitempty"`
}

// WaitResponse answers the agent's long poll: Attest is true when an
// operator asked for evidence now, false when the poll timed out.
//
// RetryAfterSeconds, when not zero, comes with Attest false at once: the
// verifier holds as many waits as its operator allows (bootproof verifier
// --max-parked) and holds none for this agent. The agent must not wait
// again within that many seconds; it is the wait's own timeout, so an
// agent that asked for the time left until its next attestation simply
// attests then. Agents that do not know the field ask again at once and
// are then told 503 with Retry-After, on which every agent backs off.
type WaitResponse struct {
	Attest            bool `json:"attest"`
	RetryAfterSeconds int  `json:"retry_after_seconds,omitempty"`
}

// ActivateRequest returns the secret recovered by TPM2_ActivateCredential.
type ActivateRequest struct {
	ChallengeID string `json:"challenge_id"`
	Secret      []byte `json:"secret"`
}

// EnrollResult is the outcome of enrolment: a client credential the agent
// uses from then on. For hosts without a TPM 2.0 it is returned at once.
type EnrollResult struct {
	Host string `json:"host"`
	// ClientCertPEM certifies the ClientPublicKey the agent sent: its mTLS
	// identity for every later request.
	ClientCertPEM []byte `json:"client_cert_pem"`
	// VerifierCAPEM is the CA the agent pins for all later connections.
	VerifierCAPEM []byte `json:"verifier_ca_pem"`
}

// NonceResponse is a fresh challenge for one attestation.
type NonceResponse struct {
	Nonce []byte `json:"nonce"`
	// Interval tells the agent how often its group wants evidence (seconds).
	IntervalSeconds int `json:"interval_seconds"`
}

// Quote is one TPM2_Quote. Which banks and PCRs it covers is in the
// TPMS_ATTEST's own PCR selection; the agent quotes every PCR of every
// active bank in one quote, or, where a TPM refuses that, one quote per bank.
type Quote struct {
	// Attest is the TPMS_ATTEST structure the TPM signed (TPM2B_ATTEST contents).
	Attest []byte `json:"attest"`
	// Signature is the TPMT_SIGNATURE the TPM returned.
	Signature []byte `json:"signature"`
	// PCRs are the values the agent read, by bank as pcrs.json spells it
	// ("sha256"), then by index. They are believed only if their digest, in
	// the quote's selection order, equals the quote's pcrDigest.
	PCRs map[string]map[int][]byte `json:"pcrs"`
}

// Evidence answers a nonce. The event log and the bundles are untrusted:
// only what the quotes cover is believed.
type Evidence struct {
	Nonce     []byte  `json:"nonce"`
	TPMFamily string  `json:"tpm_family"`
	Quotes    []Quote `json:"quotes,omitempty"`
	EventLog  []byte  `json:"event_log,omitempty"`
	// EventLogSHA256 is the hex SHA-256 of the event log, sent in place of
	// EventLog when the log is the one the verifier said it holds
	// (EvidenceResult.EventLogSHA256). The verifier appraises the log it
	// holds under that hash, or refuses with CodeEventLogUnknown, and the
	// agent sends the log itself. Either way the log proves nothing by
	// itself: it must replay to the quoted PCR values.
	EventLogSHA256 string `json:"event_log_sha256,omitempty"`
	// Bundles are the host's installed bundles, each a signed bundle file.
	Bundles [][]byte `json:"bundles,omitempty"`
	// BundlesSHA256 are the hex SHA-256s of the bundle files, in their
	// order, sent in place of Bundles when they are the ones the verifier
	// said it holds (EvidenceResult.BundlesSHA256). As with the log, the
	// verifier appraises the files it holds under those hashes, or refuses
	// with CodeBundlesUnknown, and the agent sends the files themselves.
	// Either way each file is believed only if its signature chains to a
	// trusted vendor root. Sent beside Bundles, they must be the files'.
	BundlesSHA256 []string `json:"bundles_sha256,omitempty"`
}

// CodeEventLogUnknown refuses evidence naming an event log by a hash the
// verifier does not hold: send it again with the log.
const CodeEventLogUnknown = "evidence.event_log_unknown"

// CodeBundlesUnknown refuses evidence naming a bundle by a hash the
// verifier does not hold: send it again with the bundle files.
const CodeBundlesUnknown = "evidence.bundles_unknown"

// CodeEventLogTooLarge refuses (413) evidence whose event log is over
// MaxEventLogBytes; nothing is recorded.
const CodeEventLogTooLarge = "evidence.event_log_too_large"

// EvidenceResult tells the agent the verdict it earned, for its log, and
// when to come back.
type EvidenceResult struct {
	Status          string `json:"status"`
	Reason          string `json:"reason,omitempty"`
	IntervalSeconds int    `json:"interval_seconds"`
	// EventLogSHA256 is the hex SHA-256 of the event log the verifier now
	// holds for the host: while its log is unchanged the agent may send
	// this instead (Evidence.EventLogSHA256), sparing both sides about
	// 50 KB of JSON per attestation.
	EventLogSHA256 string `json:"event_log_sha256,omitempty"`
	// BundlesSHA256 are the hex SHA-256s the verifier now holds the host's
	// bundle files under, in the order sent: while its bundles are the
	// same files the agent may send these instead
	// (Evidence.BundlesSHA256). Absent when the host sent none, and from
	// verifiers that do not hold bundles by hash.
	BundlesSHA256 []string `json:"bundles_sha256,omitempty"`
}

// Error is the JSON body of every error the agent protocol returns.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

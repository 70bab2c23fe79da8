package ima

// Bounds on untrusted input. A real entry is a few hundred bytes (a path,
// a digest, perhaps an RSA-4096 signature); ima-buf entries carry keys or
// kexec command lines of a few KiB. MaxEntrySize leaves room for those and
// stops a hostile length field from reserving memory.
const (
	// MaxEntrySize bounds one entry's template data in bytes.
	MaxEntrySize = 256 << 10
	// MaxTemplateName bounds a template name (a custom template's name is
	// its field list, such as "d-ng|n-ng|sig|d-modsig|modsig").
	MaxTemplateName = 255
	// MaxEntries bounds the entries one ParseAt call returns; a longer log
	// is read in several calls from the Position the last one returned.
	MaxEntries = 1 << 20
	// legacyNameSize is the size the `ima` template's name is padded to
	// when hashed (IMA_EVENT_NAME_LEN_MAX + 1).
	legacyNameSize = 256
)

// Position is a place in a measurement list: the index of the next entry
// and its byte offset from the start of the list. A verifier keeps it per
// host and boot so that the next attestation sends only what follows.
type Position struct {
	Entry  uint64 `json:"entry"`
	Offset uint64 `json:"offset"`
}

// Field is one field of an entry's template data, as the kernel framed it.
type Field struct {
	ID   string // "d-ng", "n-ng", "sig", ...; "" for a template this package does not know
	Data []byte
}

// Entry is one measurement. Its content is untrusted until a replay proves
// it (State.Prove).
type Entry struct {
	Index    uint64 // entry number in the whole list; 0 is boot_aggregate
	Offset   uint64 // byte offset of the entry in the whole list
	PCR      uint32
	Template string
	// TemplateHash is the SHA-1 template hash the kernel logged; all zero
	// for a violation (see Violation).
	TemplateHash [20]byte
	// TemplateData is what the template hash covers: the fields each with
	// its u32 length, or for the legacy `ima` template the digest and the
	// name padded to 256 bytes.
	TemplateData []byte
	Fields       []Field

	// Decoded from the fields, where the template has them.
	DigestAlg  string // "sha256", "sha1", "md5", ...
	DigestType string // "ima" or "verity" for d-ngv2 templates, else ""
	Digest     []byte
	Path       string // n / n-ng, without its NUL
	Signature  []byte // sig: the v2/v3 signature header and signature
	Buffer     []byte // buf (ima-buf)
	// Extra holds the fields of ima-modsig and evm-sig; nil for the other
	// templates, which keeps an Entry small (a list has 100,000s).
	Extra *Extra
}

// Extra is what ima-modsig and evm-sig entries add.
type Extra struct {
	ModsigAlg   string // d-modsig
	ModsigHash  []byte
	Modsig      []byte // modsig: the appended PKCS#7 signature
	EVMSig      []byte // evmsig
	XattrNames  []string
	XattrValues [][]byte
	UID, GID    *uint64 // iuid / igid where present
	Mode        *uint64 // imode where present
}

// extra returns e.Extra, making it on first use.
func (e *Entry) extra() *Extra {
	if e.Extra == nil {
		e.Extra = &Extra{}
	}
	return e.Extra
}

// Violation reports whether the entry records an IMA violation (a file
// measured while open for write, or opened for write while measured): its
// template hash is all zero and every bank is extended with all ones.
// Nothing of a violation's template data reaches the PCR, so its path and
// digest are the host's word only: a policy may count the violation, never
// trust what it names.
func (e *Entry) Violation() bool {
	return e.TemplateHash == [20]byte{}
}

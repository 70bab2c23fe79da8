package runtimepolicy

// Measurement is what the judge needs of one IMA log entry. The
// integration fills it from the parsed log (internal/ima): this package
// does not import the parser, so either can change alone.
type Measurement struct {
	// Index is the entry's position in the log, counted from 0 (the boot
	// aggregate), as messages show it: "entry 1234".
	Index int
	// Path is the file name the kernel logged (n-ng, or n for the legacy
	// ima template).
	Path string
	// HashAlg names FileHash's algorithm as the kernel does ("sha256");
	// "sha1" for the legacy ima template, which has no algorithm field.
	HashAlg string
	// FileHash is the file's digest (d-ng without its "ALG:" prefix).
	FileHash []byte
	// Template is the entry's template name (ima-ng, ima-sig, ...), shown
	// in messages only.
	Template string
	// Signature is the entry's signature field (ima-sig's and
	// ima-modsig's sig, evm-sig's evmsig: the xattr's value), empty when
	// the file had none. An IMA signature signs the file digest and is
	// verified; an EVM portable signature (type 0x05) signs the file's
	// metadata, which the entry does not carry whole, so it allows nothing
	// and the digest decides. An appended module signature (ima-modsig's
	// modsig, PKCS#7) is not a signature_v2_hdr and does not go here.
	Signature []byte
}

// BootAggregate is the path of the log's first entry, the hash of the
// boot's PCRs. The replay checks it against the quote; the runtime policy
// neither learns nor judges it.
const BootAggregate = "boot_aggregate"

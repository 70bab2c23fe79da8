package ima

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// builtin are the kernel's template field lists (ima_template.c).
var builtin = map[string][]string{}

func init() {
	for name, fmt := range builtinFormats {
		builtin[name] = strings.Split(fmt, "|")
	}
	builtin["ima"] = []string{"d", "n"}
	for name := range builtin {
		templateNames[name] = name
	}
}

// templateNames maps each builtin template name to itself, so that
// internTemplate returns the kernel's names without allocating.
var templateNames = map[string]string{}

// internTemplate returns a template name as a string.
func internTemplate(b []byte) string {
	if s, ok := templateNames[string(b)]; ok {
		return s
	}
	return string(b)
}

var builtinFormats = map[string]string{
	"ima-ng":     "d-ng|n-ng",
	"ima-ngv2":   "d-ngv2|n-ng",
	"ima-sig":    "d-ng|n-ng|sig",
	"ima-sigv2":  "d-ngv2|n-ng|sig",
	"ima-buf":    "d-ng|n-ng|buf",
	"ima-modsig": "d-ng|n-ng|sig|d-modsig|modsig",
	"evm-sig":    "d-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode",
}

// knownField lists the field identifiers of ima_template.c's supported_fields.
var knownField = map[string]bool{
	"d": true, "n": true, "d-ng": true, "d-ngv2": true, "n-ng": true, "sig": true,
	"buf": true, "d-modsig": true, "modsig": true, "evmsig": true, "xattrnames": true,
	"xattrlengths": true, "xattrvalues": true, "iuid": true, "igid": true, "imode": true,
}

// templateFields returns the field identifiers of a template, or nil when
// the template is unknown. A custom template (ima_template_fmt=) is listed
// under its format string, so a name made only of known field identifiers
// is read as its own field list.
func templateFields(name string) []string {
	if ids, ok := builtin[name]; ok {
		return ids
	}
	ids := strings.Split(name, "|")
	for _, id := range ids {
		if !knownField[id] {
			return nil
		}
	}
	return ids
}

// decodeFields fills the entry's decoded fields from its raw fields. On
// an error it returns the index of the bad field.
func decodeFields(e *Entry) (int, error) {
	var xattrLens []byte
	for i, f := range e.Fields {
		var err error
		switch f.ID {
		case "d":
			e.DigestAlg, e.Digest = legacyAlg(f.Data), f.Data
		case "d-ng":
			e.DigestAlg, e.Digest, err = digestNG(f.Data, false)
		case "d-ngv2":
			e.DigestType, e.Digest, err = digestNG(f.Data, true)
			if err == nil {
				e.DigestType, e.DigestAlg, _ = strings.Cut(e.DigestType, ":")
			}
		case "d-modsig":
			if len(f.Data) > 0 {
				x := e.extra()
				x.ModsigAlg, x.ModsigHash, err = digestNG(f.Data, false)
			}
		case "n", "n-ng":
			e.Path = string(bytes.TrimSuffix(f.Data, []byte{0}))
		case "sig":
			e.Signature = f.Data
		case "buf":
			e.Buffer = f.Data
		case "modsig":
			e.extra().Modsig = f.Data
		case "evmsig":
			e.extra().EVMSig = f.Data
		case "xattrnames":
			if s := string(bytes.TrimSuffix(f.Data, []byte{0})); s != "" {
				e.extra().XattrNames = strings.Split(s, "|")
			}
		case "xattrlengths":
			xattrLens = f.Data
		case "xattrvalues":
			e.extra().XattrValues, err = splitXattrs(xattrLens, f.Data)
		case "iuid":
			e.extra().UID, err = uintField(f)
		case "igid":
			e.extra().GID, err = uintField(f)
		case "imode":
			e.extra().Mode, err = uintField(f)
		}
		if err != nil {
			return i, fmt.Errorf("field %s: %w", f.ID, err)
		}
	}
	return 0, nil
}

// legacyAlg names the algorithm of a digest without a prefix by its size,
// as the kernel's "d" field holds SHA-1 or MD5 only.
func legacyAlg(d []byte) string {
	if len(d) == 16 {
		return "md5"
	}
	return "sha1"
}

// digestNG splits "alg:\0digest" (d-ng) or "type:alg:\0digest" (d-ngv2,
// with typed set). A d-ng without a prefix is a bare SHA-1 or MD5 digest,
// as written by kernels before the prefix.
func digestNG(b []byte, typed bool) (string, []byte, error) {
	i := bytes.Index(b, []byte(":\x00"))
	if i < 0 {
		if typed {
			return "", nil, fmt.Errorf("no \"type:algorithm:\" prefix in %d bytes", len(b))
		}
		return legacyAlg(b), b, nil
	}
	prefix := internAlg(b[:i])
	if typed && !strings.Contains(prefix, ":") {
		return "", nil, fmt.Errorf("prefix %q lacks the digest type", prefix)
	}
	return prefix, b[i+2:], nil
}

// internAlg returns a digest prefix as a string, without allocating for
// the common algorithms.
func internAlg(b []byte) string {
	switch string(b) {
	case "sha256":
		return "sha256"
	case "sha1":
		return "sha1"
	case "sha384":
		return "sha384"
	case "sha512":
		return "sha512"
	}
	return string(b)
}

// splitXattrs cuts xattrvalues by the u32 lengths of xattrlengths.
func splitXattrs(lens, vals []byte) ([][]byte, error) {
	if len(lens)%4 != 0 {
		return nil, fmt.Errorf("xattrlengths holds %d bytes, not a multiple of 4", len(lens))
	}
	var out [][]byte
	for i := 0; i < len(lens); i += 4 {
		n := binary.LittleEndian.Uint32(lens[i:])
		if uint64(n) > uint64(len(vals)) {
			return nil, fmt.Errorf("xattr value %d is %d bytes, only %d left", i/4, n, len(vals))
		}
		out = append(out, vals[:n:n])
		vals = vals[n:]
	}
	if len(vals) != 0 {
		return nil, fmt.Errorf("%d bytes of xattrvalues beyond what xattrlengths lists", len(vals))
	}
	return out, nil
}

// uintField reads iuid, igid or imode, which the kernel writes in the size
// of its type (u16, u32 or u64).
func uintField(f Field) (*uint64, error) {
	var v uint64
	switch len(f.Data) {
	case 2:
		v = uint64(binary.LittleEndian.Uint16(f.Data))
	case 4:
		v = uint64(binary.LittleEndian.Uint32(f.Data))
	case 8:
		v = binary.LittleEndian.Uint64(f.Data)
	default:
		return nil, fmt.Errorf("%d bytes, want 2, 4 or 8", len(f.Data))
	}
	return &v, nil
}

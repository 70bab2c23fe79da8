package measure

import "bytes"

// The x86 Linux boot protocol (Documentation/arch/x86/boot.rst): the setup
// header starts at 0x1f1; "HdrS" at 0x202 says it is there, and the 16-bit
// kernel_version at 0x20e, when not zero, points (+0x200) to a
// NUL-terminated version string such as "6.1.0-28-cloud-amd64
// (debian-kernel@lists.debian.org) #1 SMP ...".
const (
	setupHeaderMagicOff = 0x202
	kernelVersionOff    = 0x20e
	kernelVersionBase   = 0x200
	maxVersionLen       = 512
)

// kernelVersion reads the version string of a Linux x86 kernel image that
// starts at base in the file (0, or a UKI's .linux section). linux is false
// when b has no Linux boot header; then the error is nil.
func kernelVersion(b []byte, base int64) (version string, linux bool, err error) {
	if len(b) < kernelVersionOff+2 || string(b[setupHeaderMagicOff:setupHeaderMagicOff+4]) != "HdrS" {
		return "", false, nil
	}
	ptr := le16(b, kernelVersionOff)
	if ptr == 0 {
		return "", true, nil
	}
	start := ptr + kernelVersionBase
	if start >= len(b) {
		return "", true, formatErr("Linux boot header", base+kernelVersionOff, "kernel_version %#x points past the end of the image (%#x+0x200 >= %#x)", ptr, ptr, len(b))
	}
	s := b[start:min(len(b), start+maxVersionLen)]
	n := bytes.IndexByte(s, 0)
	if n < 0 {
		return "", true, formatErr("Linux kernel version", base+int64(start), "no NUL within %d bytes", len(s))
	}
	for i, c := range s[:n] {
		if c < 0x20 || c > 0x7e {
			return "", true, formatErr("Linux kernel version", base+int64(start+i), "byte %#x is not printable ASCII", c)
		}
	}
	return string(s[:n]), true, nil
}

package measure

import "io"

// Authenticode returns the Authenticode digest of a PE/COFF image in every
// bank: what UEFI firmware (EDK2's DxeTpm2MeasureBootLib) and shim extend
// into PCR 4 for each EFI image they start. It hashes, as the PE/COFF
// specification's "Calculating the PE Image Hash" says: the headers without
// the CheckSum field and the certificate table's data directory entry, the
// sections' raw data in file order, then any data after them except the
// attribute certificate table (the signatures).
func Authenticode(b []byte) (Digests, error) {
	img, err := parsePE(b)
	if err != nil {
		return Digests{}, err
	}
	return img.authenticode(b), nil
}

func (img *peImage) authenticode(b []byte) Digests {
	return digestsOf(func(w io.Writer) {
		w.Write(b[:img.checksumOff])
		if img.certEntryOff < 0 {
			w.Write(b[img.checksumOff+4 : img.sizeOfHeaders])
		} else {
			w.Write(b[img.checksumOff+4 : img.certEntryOff])
			w.Write(b[img.certEntryOff+8 : img.sizeOfHeaders])
		}
		hashed := img.sizeOfHeaders
		for _, s := range img.fileOrder() {
			w.Write(b[s.offset : s.offset+s.size])
			hashed += s.size
		}
		// EDK2 and shim count the bytes hashed and take the rest of the
		// file from there, whatever the sections' offsets.
		if end := len(b) - img.certSize; end > hashed {
			w.Write(b[hashed:end])
		}
	})
}

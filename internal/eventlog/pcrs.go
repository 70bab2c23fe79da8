package eventlog

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// PCRValues are PCR values per bank, as pcrs.json holds them:
// {"sha256": {"0": "hex", ...}, "sha512": {...}}. Where they come from
// decides what they are worth: only values inside a verified quote prove
// anything.
type PCRValues map[Alg]map[int][]byte

// ParsePCRValues reads pcrs.json. Bank names are those of Alg.String, PCR
// indices 0-23, values hex of the bank's digest size.
func ParsePCRValues(b []byte) (PCRValues, error) {
	var raw map[string]map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse PCR values: %w", err)
	}
	out := make(PCRValues, len(raw))
	for name, pcrs := range raw {
		alg, err := ParseAlg(name)
		if err != nil {
			return nil, fmt.Errorf("parse PCR values: bank %q: %w", name, err)
		}
		vals := make(map[int][]byte, len(pcrs))
		for idx, h := range pcrs {
			pcr, err := strconv.Atoi(idx)
			if err != nil || pcr < 0 || pcr >= NumPCRs {
				return nil, fmt.Errorf("parse PCR values: %s PCR %q: want an index 0-%d", name, idx, NumPCRs-1)
			}
			v, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("parse PCR values: %s PCR %d: %w", name, pcr, err)
			}
			if want := alg.Size(); want != 0 && len(v) != want {
				return nil, fmt.Errorf("parse PCR values: %s PCR %d: %d bytes, want %d", name, pcr, len(v), want)
			}
			vals[pcr] = v
		}
		out[alg] = vals
	}
	return out, nil
}

// MarshalJSON writes the pcrs.json form, lowercase hex.
func (p PCRValues) MarshalJSON() ([]byte, error) {
	raw := make(map[string]map[string]string, len(p))
	for alg, vals := range p {
		m := make(map[string]string, len(vals))
		for pcr, v := range vals {
			m[strconv.Itoa(pcr)] = hex.EncodeToString(v)
		}
		raw[alg.String()] = m
	}
	return json.Marshal(raw)
}

// Banks returns the banks present, in the order of Algs, then any others by ID.
func (p PCRValues) Banks() []Alg {
	out := make([]Alg, 0, len(p))
	for a := range p {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return bankOrder(out[i]) < bankOrder(out[j]) })
	return out
}

func bankOrder(a Alg) int {
	for i, b := range Algs {
		if a == b {
			return i
		}
	}
	return len(Algs) + int(a)
}

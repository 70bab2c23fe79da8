package bundle

import (
	"encoding/json"
	"fmt"
)

// Acceptance is a bundle's acceptance level, as ESXi's VIB acceptance levels:
// who tested the bundle. Levels are ordered: a higher value is more trusted,
// so policy compares them with >= (Certified > Accepted > Partner > Community).
type Acceptance int

// The acceptance levels, lowest first. The zero value is not a level.
const (
	Community Acceptance = iota + 1 // signed by its author, tested by nobody else
	Partner                         // a partner tested it
	Accepted                        // the platform vendor reviewed a partner's tests
	Certified                       // the platform vendor tested it
)

var acceptanceNames = map[Acceptance]string{
	Community: "community",
	Partner:   "partner",
	Accepted:  "accepted",
	Certified: "certified",
}

// Levels lists the acceptance levels, most trusted first.
func Levels() []Acceptance { return []Acceptance{Certified, Accepted, Partner, Community} }

// String returns the level's name as descriptors spell it ("certified").
func (a Acceptance) String() string {
	if n, ok := acceptanceNames[a]; ok {
		return n
	}
	return fmt.Sprintf("acceptance(%d)", int(a))
}

// Valid reports whether a is one of the four levels.
func (a Acceptance) Valid() bool {
	_, ok := acceptanceNames[a]
	return ok
}

// ParseAcceptance reads a level's name.
func ParseAcceptance(s string) (Acceptance, error) {
	for a, n := range acceptanceNames {
		if n == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown acceptance level %q (want certified, accepted, partner or community)", s)
}

// MarshalJSON writes the level's name.
func (a Acceptance) MarshalJSON() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("marshal acceptance: invalid level %d", int(a))
	}
	return json.Marshal(a.String())
}

// UnmarshalJSON reads a level's name.
func (a *Acceptance) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("acceptance: want a string: %w", err)
	}
	v, err := ParseAcceptance(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

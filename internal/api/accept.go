package api

import (
	"net/http"

	"github.com/bootproof/bootproof/internal/store"
)

// acceptPins pins the value of a per-host class that each named host's
// latest verified evidence shows (`bootproof hosts accept`): all hosts or
// none, refused with the first host's reason.
func (s *server) acceptPins(w http.ResponseWriter, r *http.Request) error {
	var req AcceptRequest
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	pins, err := s.v.AcceptPins(r.Context(), actor(r), req.Class, req.Hosts)
	if err != nil {
		return err
	}
	out := AcceptResponse{Pins: make([]Pin, len(pins))}
	for i, p := range pins {
		out.Pins[i] = pinView(p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func pinView(p store.HostPin) Pin {
	return Pin{Host: p.Host, Class: p.Class, Bank: p.Bank, Digests: p.Digests, Since: p.Since, AcceptedBy: p.AcceptedBy}
}

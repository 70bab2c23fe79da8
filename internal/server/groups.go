package server

import (
	"context"

	"github.com/bootproof/bootproof/internal/verifier"
)

// warnInvalidGroups logs, once at start, every stored group whose name a
// verifier would now refuse (stored before names were checked). Such a
// group stays readable and its hosts keep attesting; it takes no new
// policy or join token, so the log says how to leave it.
func (s *Server) warnInvalidGroups(ctx context.Context) {
	groups, err := s.Store.ListGroups(ctx)
	if err != nil {
		s.log.Warn("could not check stored group names", "err", err)
		return
	}
	for _, g := range groups {
		if !verifier.ValidGroupName(g.Name) {
			s.log.Warn("stored group name does not fit "+verifier.GroupNameRule+
				"; it stays readable but takes no new policy or join token: move its hosts with bootproof hosts move HOST --group NEW",
				"group", g.Name)
		}
	}
}

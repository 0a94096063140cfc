package phalatest

import (
	phala "github.com/phalaforge/phala-go"
)

// Client returns a *phala.Client pointed at the server: base URL URL() and
// the default workspace's API key. opts are applied after those two, so they
// may override them or add others (a retry policy, a logger, another
// workspace's key).
func (s *Server) Client(opts ...phala.Option) (*phala.Client, error) {
	base := []phala.Option{phala.WithBaseURL(s.URL()), phala.WithAPIKey(s.APIKey())}
	return phala.NewClient(append(base, opts...)...)
}

package phalatest

import (
	"net/http"
	"slices"
)

// deleteCVM serves DELETE /cvms/{id}: the CVM leaves the workspace at once and
// its node slot is freed. The answer is 204 without a body (the real API's
// success status is not known; clients accept any 2xx). A CVM that does not
// exist (or no longer does) answers 404 ERR-03-001, so a repeated DELETE
// answers 404.
func (s *Server) deleteCVM(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.lookupCVMLocked(req.ws, req.segs[1], CodeCVMNotInWorkspace)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.cvms = slices.DeleteFunc(s.cvms, func(x *cvm) bool { return x == c })
	delete(s.cvmByUUID, c.uuid)
	s.cvmIdx.remove(c)
	s.deleted = append(s.deleted, s.snapshotLocked(c))
	s.log.Info("phalatest: CVM deleted", "vm_uuid", c.uuid, "node_id", c.node.ID)
	return http.StatusNoContent, nil, nil
}

// Deleted returns the snapshots of the CVMs deleted through the API, in the
// order they were deleted.
func (s *Server) Deleted() []Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted)
}

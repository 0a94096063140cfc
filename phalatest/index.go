package phalatest

import "slices"

// cvmIndex finds CVMs by what requests name them by, and keeps each node's
// usage, so the cost of a request does not grow with the number of CVMs the
// server holds. The server's mutex guards it; its zero value is ready.
type cvmIndex struct {
	byHashedID map[string]*cvm
	byInstance map[string]*cvm
	byNumID    map[int]*cvm
	byName     map[string][]*cvm // in the order they were added
	byApp      map[*app][]*cvm   // in the order they were added
	nodes      map[*node]*nodeUsage
}

// nodeUsage is what a node's CVMs use. Live counts the CVMs that are live
// whatever the clock says: a fixed live status, or a replica that boots
// (creating, starting, then running). A replica that fails to boot is live
// only until its boot ends, so it is kept in failing and judged per request.
type nodeUsage struct {
	live    usage
	failing []*cvm
}

func (x *cvmIndex) add(c *cvm) {
	if x.byHashedID == nil {
		x.byHashedID = map[string]*cvm{}
		x.byInstance = map[string]*cvm{}
		x.byNumID = map[int]*cvm{}
		x.byName = map[string][]*cvm{}
		x.byApp = map[*app][]*cvm{}
		x.nodes = map[*node]*nodeUsage{}
	}
	x.byHashedID[c.hashedID] = c
	x.byInstance[c.instanceID] = c
	x.byNumID[c.numID] = c
	x.byName[c.name] = append(x.byName[c.name], c)
	x.byApp[c.app] = append(x.byApp[c.app], c)
	x.track(c, 1)
}

func (x *cvmIndex) remove(c *cvm) {
	if x.byHashedID[c.hashedID] == c {
		delete(x.byHashedID, c.hashedID)
	}
	if x.byInstance[c.instanceID] == c {
		delete(x.byInstance, c.instanceID)
	}
	if x.byNumID[c.numID] == c {
		delete(x.byNumID, c.numID)
	}
	x.byName[c.name] = deleteCVM(x.byName[c.name], c)
	if len(x.byName[c.name]) == 0 {
		delete(x.byName, c.name)
	}
	x.byApp[c.app] = deleteCVM(x.byApp[c.app], c)
	x.track(c, -1)
}

// setStatus fixes c's status, moving it between the node's counts.
func (x *cvmIndex) setStatus(c *cvm, status string) {
	x.track(c, -1)
	c.fixedStatus = status
	x.track(c, 1)
}

// track adds (sign 1) or removes (sign -1) c from its node's usage.
func (x *cvmIndex) track(c *cvm, sign int) {
	if c.node == nil {
		return
	}
	u := x.nodes[c.node]
	if u == nil {
		u = &nodeUsage{}
		x.nodes[c.node] = u
	}
	switch {
	case c.fixedStatus != "" && !isLive(c.fixedStatus):
	case c.fixedStatus == "" && c.bootError != "":
		if sign > 0 {
			u.failing = append(u.failing, c)
		} else {
			u.failing = deleteCVM(u.failing, c)
		}
	default:
		u.live.vcpu += sign * c.vcpu
		u.live.memoryMB += sign * c.memoryMB
		u.live.cvms += sign
	}
}

func deleteCVM(list []*cvm, c *cvm) []*cvm {
	return slices.DeleteFunc(list, func(x *cvm) bool { return x == c })
}

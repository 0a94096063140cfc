package phala_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"sort"
	"strings"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

// exampleSetServer is an emulated workspace with two nodes in us-west and one
// in eu-central, and a Cloud KMS app "web" running on us-1 (the source) and
// on eu-1.
func exampleSetServer() (*phalatest.Server, *phala.Client, phalatest.CVM) {
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(0, 0))
	us1 := srv.AddNode(phalatest.Node{Name: "us-1", Region: "us-west", Listed: true})
	srv.AddNode(phalatest.Node{Name: "us-2", Region: "us-west", Listed: true})
	eu1 := srv.AddNode(phalatest.Node{Name: "eu-1", Region: "eu-central", Listed: true})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, Name: "web-source", NodeID: us1.ID})
	srv.AddCVM(phalatest.CVM{AppID: app.ID, Name: "web-eu", NodeID: eu1.ID})
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	return srv, c, src
}

// Plan moves the app out of eu-central: two replicas in us-west (the source
// counts for one), none in eu-central. Planning sends no request that writes.
func ExampleClient_PlanReplicaSet() {
	srv, c, src := exampleSetServer()
	defer srv.Close()

	spec, err := phala.ParseReplicaSet([]byte(`{
		"source": "` + src.VMUUID + `",
		"placements": [{"region": "us-west", "count": 2}, {"region": "eu-central", "count": 0}],
		"protect": ["` + src.VMUUID + `"]}`))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := c.PlanReplicaSet(context.Background(), spec, phala.PlanOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range plan.Keep {
		fmt.Printf("keep   %s on %s (protected: %t)\n", k.Name, k.NodeName, k.Protected)
	}
	for _, cr := range plan.Creates {
		fmt.Printf("create on %s (%s)\n", cr.NodeName, cr.Region)
	}
	for _, r := range plan.Removals {
		fmt.Printf("remove %s on %s: %s\n", r.Name, r.NodeName, r.Reason)
	}
	// The nodes are read concurrently with the instances: sort to print.
	var reqs []string
	for _, r := range srv.Requests() {
		path := strings.NewReplacer(src.VMUUID, "{vm_uuid}", plan.AppID, "{app_id}").Replace(r.Path)
		reqs = append(reqs, r.Method+" "+path)
	}
	sort.Strings(reqs)
	fmt.Println(strings.Join(reqs, "\n"))
	// Output:
	// keep   web-source on us-1 (protected: true)
	// create on us-2 (us-west)
	// remove web-eu on eu-1: excess
	// GET /apps/{app_id}/cvms
	// GET /cvms/{vm_uuid}
	// GET /teepods/available
}

// Apply carries the plan out: the create first, and the removal only once the
// new replica runs, so the app never has fewer replicas than declared.
func ExampleClient_ApplyReplicaSet() {
	srv, c, src := exampleSetServer()
	defer srv.Close()
	ctx := context.Background()

	spec := &phala.ReplicaSet{Source: src.VMUUID, Placements: []phala.Placement{
		{Region: "us-west", Count: 2}, {Region: "eu-central", Count: 0}}}
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{
		Wait: phala.WaitOptions{PollInterval: time.Millisecond}})
	if err != nil {
		log.Fatal(err)
	}
	for _, cr := range res.Creates {
		fmt.Printf("created on %s: %s\n", cr.NodeName, cr.VM.Status)
	}
	for _, r := range res.Removals {
		fmt.Printf("removed %s: %s\n", r.Name, r.Outcome)
	}
	list, err := c.ListReplicas(ctx, plan.AppID)
	if err != nil {
		log.Fatal(err)
	}
	var running []string
	for _, cvm := range list {
		if cvm.Status == phalatest.StatusRunning {
			running = append(running, cvm.Instance().NodeName)
		}
	}
	slices.Sort(running)
	fmt.Println("running on", running)
	// Output:
	// created on us-2: running
	// removed web-eu: deleted
	// running on [us-1 us-2]
}

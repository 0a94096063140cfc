package phala

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of what a POST's answer proves: a POST is resent only when it provably
// never left, and any answer that does not tell what the server did is reported
// as such, never as a created replica or as advice to try again.

func TestPOSTRedirectIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, crossHost := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d cross host %t", status, crossHost), func(t *testing.T) {
				t.Parallel()
				var other counter
				elsewhere := httptest.NewServer(other.wrap(func(w http.ResponseWriter, r *http.Request) {}))
				t.Cleanup(elsewhere.Close)
				c, mux, srv := setup(t)
				var posts, followed counter
				target, origin := basePath+"/cvms/"+srcUUID, srv.URL
				if crossHost {
					target, origin = elsewhere.URL+"/steal", elsewhere.URL
				}
				mux.HandleFunc("POST /cvms/{uuid}/replicas", posts.wrap(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.ReadAll(r.Body)
					w.Header().Set("Location", target+"?api_key="+testKey)
					w.WriteHeader(status)
				}))
				// A followed 302/303 would read the source CVM and report it as the replica.
				mux.HandleFunc("/cvms/{id}", followed.wrap(func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
				}))

				vm, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7"})
				require.Error(t, err)
				assert.Nil(t, vm)
				assert.EqualValues(t, 1, posts.get(), "the POST was sent once")
				assert.Zero(t, followed.get(), "the redirect was not followed")
				assert.Zero(t, other.get(), "the other host was not contacted")

				var unknown *OutcomeUnknownError
				require.ErrorAs(t, err, &unknown)
				assert.Equal(t, status, unknown.StatusCode)
				var re *RedirectError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, origin, re.To, "the Location's origin")
				assert.Contains(t, err.Error(), "ListReplicas")
				assert.NotContains(t, err.Error(), testKey)
				assert.NotContains(t, err.Error(), "/steal")
			})
		}
	}
}

func TestGETSameHostRedirectStillFollowed(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /cvms/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, basePath+"/cvms/"+srcUUID, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
	})
	var out CVM
	_, err := c.do(context.Background(), request{path: "/cvms/old"}, &out)
	require.NoError(t, err)
	assert.Equal(t, srcUUID, out.VMUUID)
}

// unreadableBodies are 2xx answers whose body says nothing usable.
var unreadableBodies = []struct {
	name  string
	write func(w http.ResponseWriter)
}{
	{"cut short", func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "4000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"vm_uuid":"9c8b7a69-58`)
	}},
	{"not JSON", func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body>Created</body></html>")
	}},
	{"invalid JSON", func(w http.ResponseWriter) { writeJSON(w, http.StatusCreated, `{"vm_uuid":`) }},
	{"empty", func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, "") }},
	{"204 no content", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }},
	{"null", func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, "null") }},
	{"too large", func(w http.ResponseWriter) {
		writeJSON(w, http.StatusOK, `{"name":"`+strings.Repeat("x", 8<<10)+`"}`)
	}},
}

func TestPOST2xxUnreadableIsCreated(t *testing.T) {
	t.Parallel()
	ops := []struct {
		name string
		path string // the POST answered with the unreadable body
		run  func(c *Client) error
	}{
		{"Replicate", "POST /cvms/{uuid}/replicas", func(c *Client) error {
			_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7"})
			return err
		}},
		{"PrepareReplica", "POST /cvms/{uuid}/replicas", func(c *Client) error {
			_, err := c.PrepareReplica(context.Background(), srcUUID, ReplicateRequest{Node: "7"})
			return err
		}},
		{"CommitReplica", "POST /cvms/{uuid}/commit-replica", func(c *Client) error {
			_, err := c.CommitReplica(context.Background(), srcUUID, CommitRequest{Token: token, ComposeHash: hashA, TransactionHash: AlreadyRegistered})
			return err
		}},
		{"Scale", "POST /cvms/{uuid}/replicas", func(c *Client) error {
			res, err := c.Scale(context.Background(), srcUUID, 1, ReplicateRequest{Node: "7"}, ScaleOptions{})
			var se *ScaleError
			if errors.As(err, &se) && (se.Unreadable != 1 || se.Created != 0 || se.Unknown != 0) {
				return fmt.Errorf("wrong counts %+v", se)
			}
			if len(res) != 1 || !errors.Is(res[0].Err, ErrUnreadableCreated) {
				return fmt.Errorf("result %+v does not say created", res)
			}
			return err
		}},
	}
	for _, op := range ops {
		for _, b := range unreadableBodies {
			t.Run(op.name+"/"+b.name, func(t *testing.T) {
				t.Parallel()
				c, mux, _ := setup(t, WithMaxResponseBytes(4<<10))
				var posts counter
				mux.HandleFunc(op.path, posts.wrap(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.ReadAll(r.Body)
					w.Header().Set("X-Request-ID", "req-77")
					b.write(w)
				}))
				err := op.run(c)
				require.Error(t, err)
				assert.EqualValues(t, 1, posts.get(), "the POST was not resent")

				var uc *UnreadableCreatedError
				require.ErrorAs(t, err, &uc, "%v", err)
				assert.ErrorIs(t, err, ErrUnreadableCreated)
				assert.Equal(t, "POST", uc.Method)
				assert.Equal(t, "req-77", uc.RequestID)
				assert.GreaterOrEqual(t, uc.StatusCode, 200)
				assert.LessOrEqual(t, uc.StatusCode, 299)
				msg := err.Error()
				assert.Contains(t, msg, "acted on the request")
				assert.Contains(t, msg, "do not send it again")
				assert.Contains(t, msg, "ListReplicas")
				assert.Contains(t, msg, "GetCVM")
				assert.NotContains(t, msg, testKey)
			})
		}
	}
}

// autoServer is a fake API for the automatic workflow: every replicate POST is
// answered 465, the source CVM is on chain 8453, and commit answers come from
// commit (called with the 1-based commit number).
func autoServer(t *testing.T, commit func(n int64, w http.ResponseWriter, r *http.Request), opts ...Option) (*Client, *counter) {
	t.Helper()
	c, mux, rec := setupRec(t, opts...)
	kms := "0x" + strings.Repeat("5", 40)
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
	})
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
	})
	rec.handle(mux, "GET /teepods/available", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, `{"nodes":[{"teepod_id":7,"name":"prod-7","device_id":"`+deviceHex+`"}]}`)
	})
	commits := &counter{}
	mux.HandleFunc("POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request) {
		commit(commits.inc(), w, r)
	})
	return c, commits
}

func TestCommitWithUnknownOutcomeIsNeverResent(t *testing.T) {
	t.Parallel()
	cut := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	lagging := func(w http.ResponseWriter) { apiError(w, 467, "ERR-01-007", "Transaction not found") }
	tests := []struct {
		name        string
		answer      func(n int64, w http.ResponseWriter, r *http.Request)
		wantCommits int64
		wantStatus  int // StatusCode of the *OutcomeUnknownError; -1: not an unknown outcome
		want        error
	}{
		{"connection cut after the commit was read", func(_ int64, w http.ResponseWriter, r *http.Request) { cut(w, r) }, 1, 0, nil},
		{"503 with Retry-After", func(_ int64, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusServiceUnavailable, `{"detail":"Service Unavailable"}`)
		}, 1, 503, nil},
		{"502 from a gateway", func(_ int64, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>Bad Gateway</html>")
		}, 1, 502, nil},
		{"504 carrying the lag code", func(_ int64, w http.ResponseWriter, r *http.Request) {
			apiError(w, http.StatusGatewayTimeout, "ERR-01-007", "Transaction not found")
		}, 1, 504, ErrTxVerificationFailed},
		{"429 with Retry-After is refused, not resent", func(_ int64, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			apiError(w, http.StatusTooManyRequests, "ERR-05-002", "slow down")
		}, 1, -1, ErrTokenRateLimit},
		{"lag, then connection cut", func(n int64, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				lagging(w)
				return
			}
			cut(w, r)
		}, 2, 0, nil},
		{"lag, then 466 after the resend", func(n int64, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				lagging(w)
				return
			}
			apiError(w, 466, "ERR-01-006", "Commit token invalid or expired")
		}, 2, 466, ErrHashInvalidOrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, commits := autoServer(t, tt.answer, WithCommitRetry(3, time.Millisecond),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 4, MaxRetryAfter: time.Minute}))
			reg := &fakeRegistrar{reg: &onchain.Registration{ComposeHashTx: common32("0x" + strings.Repeat("ab", 32))}}
			vm, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7", Registrar: reg})
			require.Error(t, err)
			assert.Nil(t, vm)
			assert.Equal(t, tt.wantCommits, commits.get(), "commit requests")
			assert.Equal(t, 1, reg.count(), "registered once")

			var ae *AutoRegistrationError
			require.ErrorAs(t, err, &ae)
			assert.True(t, ae.Committing)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			var unknown *OutcomeUnknownError
			if tt.wantStatus < 0 {
				assert.False(t, errors.As(err, &unknown), "%v", err)
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
				return
			}
			require.ErrorAs(t, err, &unknown, "%v", err)
			assert.Equal(t, tt.wantStatus, unknown.StatusCode)
			assert.Contains(t, err.Error(), "ListReplicas")
			assert.NotContains(t, err.Error(), "run PrepareReplica again", "preparing again could create a second replica")
			assert.NotContains(t, err.Error(), token)
		})
	}
}

// holdOrOverlap waits until overlap is closed or hold has passed. With correct
// code nothing closes overlap and the wait is the hold; a broken concurrency guard
// closes it within microseconds of the second request.
func holdOrOverlap(overlap <-chan struct{}, hold time.Duration) {
	select {
	case <-overlap:
	case <-time.After(hold):
	}
}

// holdingRegistrar registers after holdOrOverlap, so a second attempt started too
// early arrives while the first is registering.
type holdingRegistrar struct {
	overlap <-chan struct{}
	hold    time.Duration
	calls   atomic.Int32
}

func (h *holdingRegistrar) EnsureRegistered(_ context.Context, _ *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	h.calls.Add(1)
	holdOrOverlap(h.overlap, h.hold)
	return &onchain.Registration{ComposeHashTx: common32("0x" + strings.Repeat("ab", 32))}, nil
}

func TestScaleWithRegistrarWaitsForTheFirstRegistration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		node string
		// serial: no two attempts in flight at any time; otherwise only while
		// the first attempt has not committed.
		serial bool
	}{
		{"no fixed node: one attempt at a time", "", true},
		{"fixed node: the first attempt runs alone", "7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu        sync.Mutex
				active    int  // attempts between their POST and their commit's answer
				firstDone bool // the first attempt has committed
				overlaps  []string
				once      sync.Once
				overlap   = make(chan struct{})
				created   atomic.Int32
			)
			c, mux, _ := setup(t)
			kms := "0x" + strings.Repeat("5", 40)
			mux.HandleFunc("POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				if active > 0 && (tt.serial || !firstDone) {
					overlaps = append(overlaps, fmt.Sprintf("a POST arrived while %d attempt(s) were in flight (first committed: %t)", active, firstDone))
					once.Do(func() { close(overlap) })
				}
				active++
				mu.Unlock()
				writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
			})
			mux.HandleFunc("GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
			})
			mux.HandleFunc("GET /teepods/available", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, `{"nodes":[{"teepod_id":7,"name":"prod-7","device_id":"`+deviceHex+`"}]}`)
			})
			mux.HandleFunc("POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request) {
				n := created.Add(1)
				mu.Lock()
				active--
				firstDone = true
				mu.Unlock()
				writeJSON(w, http.StatusOK, mustJSONString(vmObject(fmt.Sprintf("9c8b7a69-5847-4362-a150-f1e2d3c4b5%02d", n), appHexID, hashA)))
			})
			reg := &holdingRegistrar{overlap: overlap, hold: 100 * time.Millisecond}
			results, err := c.Scale(context.Background(), srcUUID, 3, ReplicateRequest{Node: tt.node, Registrar: reg}, ScaleOptions{Concurrency: 4})
			require.NoError(t, err)
			require.Len(t, results, 3)
			mu.Lock()
			defer mu.Unlock()
			assert.Empty(t, overlaps)
			assert.EqualValues(t, 3, created.Load())
		})
	}
}

// releasingTransport delegates to the default transport; a round trip that fails
// waits for release before returning its error.
type releasingTransport struct{ release chan struct{} }

func (rt *releasingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		<-rt.release
	}
	return resp, err
}

func TestScaleErrorReportsSentAttemptsFirst(t *testing.T) {
	t.Parallel()
	// Two POSTs are in flight when the context ends. Their failures are held back
	// until the two attempts never sent have been reported, so a first-come error
	// would say "not attempted" although two replicas may exist.
	rt := &releasingTransport{release: make(chan struct{})}
	c, mux, _ := setup(t, WithHTTPClient(&http.Client{Transport: rt}))
	arrived := make(chan struct{}, 2)
	mux.HandleFunc("POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-arrived; <-arrived; cancel() }()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(rt.release) }) }
	// A safety net only: if the attempts never sent are never reported, the held
	// failures are released after a while and the assertions below fail.
	safety := time.AfterFunc(30*time.Second, release)
	defer safety.Stop()
	results, err := c.Scale(ctx, srcUUID, 4, ReplicateRequest{Node: "7"}, ScaleOptions{
		Concurrency: 2,
		OnResult: func(i int, res ScaleResult) {
			if errors.Is(res.Err, ErrNotAttempted) {
				release()
			}
		},
	})
	require.Len(t, results, 4)
	var se *ScaleError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 0, se.Created)
	assert.Equal(t, 2, se.Unknown)
	assert.Equal(t, 2, se.NotAttempted)
	var unknown *OutcomeUnknownError
	require.ErrorAs(t, se.Err, &unknown, "Err is the failure of an attempt that was sent")
	assert.NotErrorIs(t, se.Err, ErrNotAttempted)
	assert.Contains(t, se.Error(), "2 with unknown outcome")
	assert.Contains(t, se.Error(), "2 not attempted")
	assert.Contains(t, se.Error(), "outcome unknown")
}

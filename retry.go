package phala

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RetryPolicy bounds how often and how long the client retries. Which answers are
// retried does not depend on it (see the package documentation, section Retries).
type RetryPolicy struct {
	MaxAttempts   int           // attempts per call, first included; 1 disables retries (0 = default 4)
	MinBackoff    time.Duration // wait before the first retry, doubled each retry (0 = no wait)
	MaxBackoff    time.Duration // cap of the exponential wait (0 = MinBackoff)
	MaxRetryAfter time.Duration // longest Retry-After honoured; a longer one ends the call (0 = never wait for Retry-After)
}

// DefaultRetryPolicy returns the policy NewClient uses: 4 attempts, waits of 250 ms
// doubling up to 5 s with jitter, and Retry-After honoured up to 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:   4,
		MinBackoff:    250 * time.Millisecond,
		MaxBackoff:    5 * time.Second,
		MaxRetryAfter: 30 * time.Second,
	}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("MaxAttempts must not be negative, got %d", p.MaxAttempts)
	case p.MaxAttempts > 100:
		return fmt.Errorf("MaxAttempts must be at most 100, got %d", p.MaxAttempts)
	case p.MinBackoff < 0 || p.MaxBackoff < 0 || p.MaxRetryAfter < 0:
		return errors.New("durations must not be negative")
	case p.MaxBackoff != 0 && p.MaxBackoff < p.MinBackoff:
		return fmt.Errorf("MaxBackoff %v is less than MinBackoff %v", p.MaxBackoff, p.MinBackoff)
	}
	return nil
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts == 0 {
		return DefaultRetryPolicy().MaxAttempts
	}
	return p.MaxAttempts
}

// idempotent reports whether a request with this method can be resent after it may
// have reached the server. Every other method is treated like POST.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// retryableStatus is the set of statuses retried for idempotent requests.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date (a date
// in the past means now). ok is false when the header is absent or malformed.
func parseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d = t.Sub(now); d < 0 {
		d = 0
	}
	return d, true
}

// call is the state of one do() call across its attempts. Its methods are the
// go-retryablehttp hooks, so the whole policy lives here.
type call struct {
	c      *Client
	method string
	path   string

	attempt int       // 1-based, set before each attempt
	start   time.Time // start of the current attempt

	// gotConn is set by the httptrace GotConn hook: the current attempt obtained a
	// connection, so its request may have been (partly) sent. It is written from
	// transport goroutines, hence atomic.
	gotConn atomic.Bool
	// mayHaveSent is set when an attempt failed after the request may have reached
	// the server.
	mayHaveSent bool
}

// beforeAttempt is the RequestLogHook: it runs before every attempt.
func (k *call) beforeAttempt(i int) {
	k.attempt = i + 1
	k.start = time.Now()
	k.gotConn.Store(false)
	k.mayHaveSent = false
}

// checkRetry is the CheckRetry hook. It never returns an error: the caller of the
// retry loop turns the last response or error into the error the user sees.
func (k *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	k.logAttempt(ctx, resp, err)
	if ctx.Err() != nil {
		// The caller gave up: no new attempt, and do not wait.
		if err != nil {
			k.mayHaveSent = k.gotConn.Load()
		}
		return false, nil
	}
	if err != nil {
		var redirect *RedirectError
		if errors.As(err, &redirect) || isPermanentTransportError(err) {
			return false, nil
		}
		if idempotent(k.method) {
			return true, nil
		}
		// A POST is retried only when it provably never left: no connection was
		// obtained for this attempt and the error is a failure to connect.
		if !k.gotConn.Load() && isConnectError(err) {
			return true, nil
		}
		k.mayHaveSent = true
		return false, nil
	}

	if !idempotent(k.method) {
		// An answer came back, so the request reached something that may have
		// forwarded it: a gateway can answer 502, 503 (even with Retry-After) or
		// 504 after the API acted on it. A POST is never resent after any answer;
		// do() reports every 5xx as outcome unknown and 429 as refused.
		return false, nil
	}
	if ra, hasRA := parseRetryAfter(resp.Header, time.Now()); hasRA && ra > k.c.cfg.retry.MaxRetryAfter {
		return false, nil // the server asks for a longer wait than we accept
	}
	return retryableStatus(resp.StatusCode), nil
}

// backoff is the Backoff hook: Retry-After when the answer has one (checkRetry has
// already bounded it), else capped exponential backoff with jitter in [d/2, d].
func (k *call) backoff(_, _ time.Duration, retry int, resp *http.Response) time.Duration {
	var wait time.Duration
	if ra, ok := retryAfterOf(resp); ok {
		wait = ra
	} else {
		wait = expBackoff(k.c.cfg.retry, retry)
		if wait > 1 {
			wait = wait/2 + rand.N(wait/2+1)
		}
	}
	if k.c.cfg.backoffHook != nil {
		wait = k.c.cfg.backoffHook(retry+1, wait)
	}
	return wait
}

func retryAfterOf(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	return parseRetryAfter(resp.Header, time.Now())
}

// expBackoff returns MinBackoff·2^retry capped at MaxBackoff, without jitter.
func expBackoff(p RetryPolicy, retry int) time.Duration {
	maxB := p.MaxBackoff
	if maxB == 0 {
		maxB = p.MinBackoff
	}
	d := p.MinBackoff
	for i := 0; i < retry && d < maxB; i++ {
		d *= 2
	}
	return min(d, maxB)
}

// isConnectError reports whether err is a failure to establish a connection (DNS,
// dial, refused): nothing of the request can have reached the server.
func isConnectError(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Op == "dial" || opErr.Op == "proxyconnect"
	}
	return false
}

// isPermanentTransportError reports errors that a retry cannot fix (certificate
// problems).
func isPermanentTransportError(err error) bool {
	var (
		unknownAuth *x509.UnknownAuthorityError
		certInvalid *x509.CertificateInvalidError
		hostname    *x509.HostnameError
		verify      *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownAuth) || errors.As(err, &certInvalid) ||
		errors.As(err, &hostname) || errors.As(err, &verify)
}

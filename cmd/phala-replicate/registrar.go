package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/phalaforge/phala-go/onchain"
)

// lazyRegistrar is the phala.Registrar of the automatic workflow. The app's
// chain is known only from the 465 answer (its kms_info.chain_id, which
// the SDK has checked against the source before calling), so the RPC
// endpoint is dialled and the signer built on first use, for that chain:
// --rpc-url (which must serve that chain), else the registry's public
// endpoint for Ethereum and Base, or a local node on 31337.
type lazyRegistrar struct {
	key    secret
	rpcURL string
	chains *onchain.Chains
	opts   []onchain.Option

	mu      sync.Mutex
	chainID uint64
	client  *ethclient.Client
	reg     *onchain.Registrar
}

// EnsureRegistered implements phala.Registrar.
func (l *lazyRegistrar) EnsureRegistered(ctx context.Context, prereq *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	reg, err := l.registrar(ctx, prereq)
	if err != nil {
		return nil, err
	}
	return reg.EnsureRegistered(ctx, prereq)
}

// EnsureRegisteredChecked implements the SDK's checking registrar: check (the
// SDK's comparison of the 465 with the source and the node list) runs while
// the RPC endpoint is dialled and the contract read, and nothing is signed
// until it has passed. A registrar dialled for a payload that fails the check
// is dropped, so a lying 465 cannot pin this run to its chain.
func (l *lazyRegistrar) EnsureRegisteredChecked(ctx context.Context, prereq *onchain.ErrOnchainPrerequisite, check func(context.Context) error) (*onchain.Registration, error) {
	if check == nil {
		return l.EnsureRegistered(ctx, prereq)
	}
	done := make(chan struct{})
	var checkErr error
	go func() {
		defer close(done)
		checkErr = check(ctx)
	}()
	checked := func(context.Context) error {
		<-done
		return checkErr
	}
	fresh := l.dialled() == nil
	reg, err := l.registrar(ctx, prereq)
	if cerr := checked(ctx); cerr != nil {
		if fresh && err == nil {
			l.Close()
		}
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return reg.EnsureRegisteredChecked(ctx, prereq, checked)
}

// dialled is the registrar of an earlier call, or nil.
func (l *lazyRegistrar) dialled() *onchain.Registrar {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reg
}

func (l *lazyRegistrar) registrar(ctx context.Context, prereq *onchain.ErrOnchainPrerequisite) (*onchain.Registrar, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prereq == nil || prereq.KMSInfo == nil || prereq.KMSInfo.ChainID == 0 {
		return nil, onchain.ErrNoChainID
	}
	id := prereq.KMSInfo.ChainID
	if l.reg != nil && l.chainID == id {
		return l.reg, nil
	}
	if l.reg != nil {
		return nil, &onchainError{fmt.Errorf("the app is on chain %d but this run already registered on chain %d", id, l.chainID)}
	}
	url := l.rpcURL
	if url == "" {
		cfg, err := l.chains.ForKMS(prereq.KMSInfo)
		if err != nil {
			var uce *onchain.UnknownChainError
			if errors.As(err, &uce) {
				return nil, &onchainError{fmt.Errorf("%w; pass --rpc-url or set %s", err, envRPCURL)}
			}
			return nil, err
		}
		url = cfg.RPCURL
	}
	ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: id, RPCURL: url})
	if err != nil {
		var wc *onchain.WrongChainError
		if errors.As(err, &wc) {
			return nil, fmt.Errorf("--rpc-url %s: %w", redactURL(url), err)
		}
		return nil, &onchainError{err}
	}
	signer, err := onchain.SignerFromHex(string(l.key), id)
	if err != nil {
		ec.Close()
		return nil, err
	}
	reg, err := onchain.NewRegistrar(ec, signer, append(append([]onchain.Option{}, l.opts...), onchain.WithRPCClient(rc), onchain.WithCheckedChainID(id))...)
	if err != nil {
		ec.Close()
		return nil, &onchainError{err}
	}
	l.chainID, l.client, l.reg = id, ec, reg
	return reg, nil
}

// Close closes the RPC connection, if one was opened; a later call dials again.
func (l *lazyRegistrar) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		l.client.Close()
	}
	l.chainID, l.client, l.reg = 0, nil, nil
}

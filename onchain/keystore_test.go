package onchain

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
	"github.com/google/uuid"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyFile encrypts key as a Web3 Secret Storage file, with the lightest scrypt
// (N=2, p=1) so that tests run fast under -race; real files use far more.
func keyFile(t *testing.T, key *ecdsa.PrivateKey, passphrase string) []byte {
	t.Helper()
	k := &keystore.Key{Id: uuid.New(), Address: crypto.PubkeyToAddress(key.PublicKey), PrivateKey: key}
	data, err := keystore.EncryptKey(k, passphrase, 2, 1)
	require.NoError(t, err)
	return data
}

// registersOnChain checks that signer, the app owner's, registers a device and a
// compose hash on a simulated chain.
func registersOnChain(t *testing.T, chain *onchaintest.Chain, signer *bind.TransactOpts) {
	t.Helper()
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	reg, err := newRegistrar(t, chain, signer).EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	require.NoError(t, err)
	st, err := Status(ctx, chain.Client, app, regDevice, regCompose, AtBlock(reg.Block))
	require.NoError(t, err)
	assert.True(t, st.IsAllowed)
	for _, h := range []common.Hash{reg.DeviceTx, reg.ComposeHashTx} {
		tx, _, err := chain.Client.TransactionByHash(ctx, h)
		require.NoError(t, err)
		from, err := types.Sender(types.LatestSignerForChainID(big.NewInt(onchaintest.ChainID)), tx)
		require.NoError(t, err)
		assert.Equal(t, chain.Accounts[0].Address, from)
	}
}

func TestSignerFromKeystore(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	const pass = "correct horse battery staple"
	file := keyFile(t, chain.Accounts[0].Key, pass)

	signer, err := SignerFromKeystore(file, pass, onchaintest.ChainID)
	require.NoError(t, err)
	assert.Equal(t, chain.Accounts[0].Address, signer.From)
	registersOnChain(t, chain, signer)

	bad := []struct {
		name    string
		file    []byte
		pass    string
		chainID uint64
		is      []error
	}{
		{"wrong passphrase", file, "wrong horse", onchaintest.ChainID, []error{ErrInvalidKeystore, keystore.ErrDecrypt}},
		{"not JSON", []byte("not a key file " + pass), pass, onchaintest.ChainID, []error{ErrInvalidKeystore}},
		{"empty", nil, pass, onchaintest.ChainID, []error{ErrInvalidKeystore}},
		{"chain id 0", file, pass, 0, nil},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s, err := SignerFromKeystore(tt.file, tt.pass, tt.chainID)
			require.Error(t, err)
			assert.Nil(t, s)
			for _, target := range tt.is {
				assert.ErrorIs(t, err, target)
			}
			assert.NotContains(t, err.Error(), "horse", "no passphrase in the error")
		})
	}
}

// fakeClef answers clef's external API (the "account" namespace) for one key.
type fakeClef struct {
	key     *ecdsa.PrivateKey
	chainID *big.Int // the chain it signs for
}

func (f *fakeClef) Version() string { return "7.0.0" }

func (f *fakeClef) List() []common.Address {
	return []common.Address{crypto.PubkeyToAddress(f.key.PublicKey)}
}

type signTxResult struct {
	Raw hexutil.Bytes      `json:"raw"`
	Tx  *types.Transaction `json:"tx"`
}

func (f *fakeClef) SignTransaction(args apitypes.SendTxArgs) (*signTxResult, error) {
	if args.From.Address() != crypto.PubkeyToAddress(f.key.PublicKey) {
		return nil, fmt.Errorf("unknown account %s", args.From.Address())
	}
	unsigned, err := args.ToTransaction()
	if err != nil {
		return nil, err
	}
	tx, err := types.SignTx(unsigned, types.LatestSignerForChainID(f.chainID), f.key)
	if err != nil {
		return nil, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &signTxResult{Raw: raw, Tx: tx}, nil
}

// startClef serves a fake clef over HTTP and returns its URL.
func startClef(t *testing.T, f *fakeClef) string {
	t.Helper()
	srv := rpc.NewServer()
	require.NoError(t, srv.RegisterName("account", f))
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Stop() })
	return hs.URL
}

func TestSignerFromClef(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	owner := chain.Accounts[0]
	url := startClef(t, &fakeClef{key: owner.Key, chainID: big.NewInt(onchaintest.ChainID)})

	signer, err := SignerFromClef(url, owner.Address, onchaintest.ChainID)
	require.NoError(t, err)
	assert.Equal(t, owner.Address, signer.From)
	registersOnChain(t, chain, signer)

	t.Run("account not held", func(t *testing.T) {
		_, err := SignerFromClef(url, chain.Accounts[1].Address, onchaintest.ChainID)
		require.ErrorIs(t, err, accounts.ErrUnknownAccount)
	})
	t.Run("a signature for another chain is refused", func(t *testing.T) {
		other := startClef(t, &fakeClef{key: owner.Key, chainID: big.NewInt(1)})
		s, err := SignerFromClef(other, owner.Address, onchaintest.ChainID)
		require.NoError(t, err)
		tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(onchaintest.ChainID), Nonce: 1, Gas: 21000,
			GasFeeCap: big.NewInt(1), GasTipCap: big.NewInt(1), To: &owner.Address})
		_, err = s.Signer(owner.Address, tx)
		require.Error(t, err)
	})
	t.Run("another sender is not signed for", func(t *testing.T) {
		tx := types.NewTx(&types.LegacyTx{Nonce: 1, Gas: 21000, GasPrice: big.NewInt(1), To: &owner.Address})
		_, err := signer.Signer(chain.Accounts[1].Address, tx)
		require.ErrorIs(t, err, bind.ErrNotAuthorized)
	})
	t.Run("unreachable signer, credentials hidden", func(t *testing.T) {
		_, err := SignerFromClef("http://user:s3cret@127.0.0.1:1/clef", owner.Address, onchaintest.ChainID)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "s3cret")
	})
	t.Run("bad arguments", func(t *testing.T) {
		_, err := SignerFromClef("", owner.Address, onchaintest.ChainID)
		require.Error(t, err)
		_, err = SignerFromClef(url, owner.Address, 0)
		require.Error(t, err)
		_, err = SignerFromWallet(nil, owner.Address, onchaintest.ChainID)
		require.Error(t, err)
	})
}

package onchain

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

func TestChains(t *testing.T) {
	c, err := NewChains()
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 8453, 31337}, c.IDs())
	// The phala CLI's three chains; a local node where anvil listens by default.
	local, err := c.Lookup(31337)
	require.NoError(t, err)
	assert.Equal(t, ChainConfig{ID: 31337, Name: "Anvil (local)", RPCURL: "http://127.0.0.1:8545"}, local)

	base, err := c.Lookup(8453)
	require.NoError(t, err)
	assert.Equal(t, ChainConfig{ID: 8453, Name: "Base", RPCURL: "https://mainnet.base.org"}, base)
	eth, err := c.Lookup(1)
	require.NoError(t, err)
	assert.Equal(t, "Ethereum", eth.Name)

	// Override a default, keeping its name.
	require.NoError(t, c.Set(ChainConfig{ID: 8453, RPCURL: "https://base.example/rpc"}))
	base, err = c.Lookup(8453)
	require.NoError(t, err)
	assert.Equal(t, ChainConfig{ID: 8453, Name: "Base", RPCURL: "https://base.example/rpc"}, base)

	// Any chain with a caller-given URL.
	c2, err := NewChains(ChainConfig{ID: 84532, RPCURL: "https://sepolia.base.org"})
	require.NoError(t, err)
	sep, err := c2.ForKMS(&KMSInfo{ChainID: 84532})
	require.NoError(t, err)
	assert.Equal(t, ChainConfig{ID: 84532, Name: "chain 84532", RPCURL: "https://sepolia.base.org"}, sep)
}

func TestChainsUnknown(t *testing.T) {
	c, err := NewChains()
	require.NoError(t, err)

	_, err = c.ForKMS(&KMSInfo{ChainID: 84532, RPCEndpoint: "https://rpc.example"})
	var uce *UnknownChainError
	require.ErrorAs(t, err, &uce)
	assert.Equal(t, UnknownChainError{ChainID: 84532, SuggestedRPC: "https://rpc.example"}, *uce)
	assert.Equal(t, "onchain: no RPC URL for chain 84532: only Ethereum (1), Base (8453) and a local node (31337) have defaults; "+
		"give one with Chains.Set(ChainConfig{ID: 84532, RPCURL: ...}) "+
		"(the server suggests https://rpc.example; use it only if you trust it)", err.Error())

	_, err = c.ForKMS(nil)
	require.ErrorAs(t, err, &uce)
	assert.Contains(t, err.Error(), "no chain_id")
	_, err = c.Lookup(0)
	require.ErrorAs(t, err, &uce)
}

func TestChainsSetValidation(t *testing.T) {
	tests := []struct {
		cfg     ChainConfig
		wantErr string
	}{
		{ChainConfig{ID: 0, RPCURL: "https://x"}, "must not be 0"},
		{ChainConfig{ID: 5, RPCURL: ""}, "not an absolute URL"},
		{ChainConfig{ID: 5, RPCURL: "localhost:8545"}, "not an absolute URL"},
		{ChainConfig{ID: 5, RPCURL: "ftp://x/y"}, `scheme "ftp"`},
	}
	for _, tt := range tests {
		_, err := NewChains(tt.cfg)
		assert.ErrorContains(t, err, tt.wantErr)
	}
	// API keys in URLs stay out of errors.
	_, err := NewChains(ChainConfig{ID: 5, RPCURL: "gopher://user:secretkey@host/v2/secretpath"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
	assert.Equal(t, "https://host/…", redactURL("https://user:pw@host/v2/KEY?x=1"))
	assert.Equal(t, "https://mainnet.base.org", redactURL("https://mainnet.base.org/"))
}

func TestDial(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP())
	ctx := testCtx(t)
	ec, rc, err := Dial(ctx, ChainConfig{ID: onchaintest.ChainID, RPCURL: chain.URL()})
	require.NoError(t, err)
	defer ec.Close()
	require.NotNil(t, rc)
	n, err := ec.BlockNumber(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), n)

	_, _, err = Dial(ctx, ChainConfig{ID: 8453, RPCURL: chain.URL()})
	var wce *WrongChainError
	require.ErrorAs(t, err, &wce)
	assert.Equal(t, WrongChainError{Want: 8453, Got: onchaintest.ChainID}, *wce)

	_, _, err = Dial(ctx, ChainConfig{ID: 1, RPCURL: "http://127.0.0.1:1/key"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "/key")
}

func TestKMSRootKey(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	priv, err := crypto.GenerateKey()
	require.NoError(t, err)
	compressed := crypto.CompressPubkey(&priv.PublicKey)
	uncompressed := crypto.FromECDSAPub(&priv.PublicKey)
	offCurve := append([]byte{0x02}, make([]byte, 32)...)
	offCurve[32] = 5 // x = 5 has no point on secp256k1

	tests := []struct {
		name    string
		key     []byte
		want    []byte
		wantErr string
	}{
		{"compressed", compressed, compressed, ""},
		{"uncompressed", uncompressed, compressed, ""},
		{"unset", nil, nil, "k256Pubkey is empty"},
		{"wrong length", compressed[:20], nil, "has 20 bytes"},
		{"not on the curve", offCurve, nil, "not a curve point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := onchaintest.KMSInfo{K256Pubkey: tt.key, Quote: []byte{1}}
			kms, err := chain.DeployDstackKms(ctx, chain.Transactor(0), info)
			require.NoError(t, err)
			got, err := KMSRootKey(ctx, chain.Client, kms)
			if tt.wantErr != "" {
				assert.ErrorIs(t, err, ErrNoKMSRootKey)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("not a KMS", func(t *testing.T) {
		_, err := KMSRootKey(ctx, chain.Client, chain.Accounts[2].Address)
		assert.ErrorIs(t, err, ErrNoKMSRootKey)
		app := deployApp(t, chain, onchaintest.AppConfig{})
		_, err = KMSRootKey(ctx, chain.Client, app)
		assert.ErrorIs(t, err, ErrReverted, "DstackApp has no kmsInfo(): empty revert")
		_, err = KMSRootKey(context.Background(), nil, common.Address{})
		assert.Error(t, err)
	})
}

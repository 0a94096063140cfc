package onchain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/accounts/external"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// ErrInvalidKeystore is wrapped by [SignerFromKeystore] when the key file cannot
// be read or decrypted. A wrong passphrase also matches keystore.ErrDecrypt. The
// error never contains the passphrase or the key.
var ErrInvalidKeystore = errors.New("onchain: invalid keystore key")

// SignerFromKeystore builds transaction options that sign with the key of an
// encrypted JSON key file (Web3 Secret Storage, version 3, as geth, clef and
// most wallets write them), decrypted with passphrase. keyJSON is the content
// of the file (os.ReadFile(path)). chainID is the chain the signatures are for,
// for example [ChainIDBase]. Decryption runs scrypt with the file's parameters,
// which by design takes a noticeable time for keys written with the standard
// setting.
//
// The result works with [NewRegistrar] like [SignerFromHex]'s; the private key
// stays in memory only inside it.
func SignerFromKeystore(keyJSON []byte, passphrase string, chainID uint64) (*bind.TransactOpts, error) {
	if chainID == 0 {
		return nil, errors.New("onchain: SignerFromKeystore: chain id must not be 0")
	}
	key, err := keystore.DecryptKey(keyJSON, passphrase)
	switch {
	case errors.Is(err, keystore.ErrDecrypt):
		return nil, fmt.Errorf("%w: %w (wrong passphrase?)", ErrInvalidKeystore, keystore.ErrDecrypt)
	case err != nil:
		// go-ethereum's messages name JSON syntax or cipher parameters, never
		// the passphrase; keep only the type of problem anyway.
		return nil, fmt.Errorf("%w: not a readable key file (%T)", ErrInvalidKeystore, err)
	}
	return bind.NewKeyedTransactor(key.PrivateKey, new(big.Int).SetUint64(chainID)), nil
}

// SignerFromWallet builds transaction options that sign with account through a
// go-ethereum wallet: an external signer (see [SignerFromClef]), a hardware
// wallet (accounts/usbwallet) or an unlocked keystore.KeyStore's wallet. The
// wallet may ask a person to confirm each transaction. chainID is the chain the
// signatures are for. Each signed transaction is checked to come from account
// for chainID before it is handed back for sending.
//
// It fails with an error wrapping accounts.ErrUnknownAccount when the wallet does
// not hold account.
func SignerFromWallet(w accounts.Wallet, account common.Address, chainID uint64) (*bind.TransactOpts, error) {
	if w == nil {
		return nil, errors.New("onchain: SignerFromWallet: nil wallet")
	}
	if chainID == 0 {
		return nil, errors.New("onchain: SignerFromWallet: chain id must not be 0")
	}
	acc := accounts.Account{Address: account}
	if !w.Contains(acc) {
		return nil, fmt.Errorf("onchain: %s wallet: account %s: %w", w.URL().Scheme, account, accounts.ErrUnknownAccount)
	}
	id := new(big.Int).SetUint64(chainID)
	txSigner := types.LatestSignerForChainID(id)
	return &bind.TransactOpts{
		From: account,
		Signer: func(from common.Address, tx *types.Transaction) (*types.Transaction, error) {
			if from != account {
				return nil, bind.ErrNotAuthorized
			}
			signed, err := w.SignTx(acc, tx, id)
			if err != nil {
				return nil, fmt.Errorf("onchain: signing with the %s wallet: %w", w.URL().Scheme, redactURLs(err))
			}
			if signed == nil {
				return nil, fmt.Errorf("onchain: signing with the %s wallet: no transaction returned", w.URL().Scheme)
			}
			if got, err := types.Sender(txSigner, signed); err != nil || got != account {
				return nil, fmt.Errorf("onchain: signing with the %s wallet: the signed transaction is not from %s on chain %d", w.URL().Scheme, account, chainID)
			}
			return signed, nil
		},
	}, nil
}

// SignerFromClef builds transaction options that sign with account through an
// external signer speaking clef's API (account_list, account_signTransaction),
// so that the private key never enters this process and every transaction can
// be reviewed in the signer. endpoint is the signer's RPC endpoint: an IPC path
// (clef's default, e.g. ~/.clef/clef.ipc), or an http(s) or ws(s) URL. The
// signer is contacted once here (to check that it answers and holds account),
// then for each transaction.
func SignerFromClef(endpoint string, account common.Address, chainID uint64) (*bind.TransactOpts, error) {
	if endpoint == "" {
		return nil, errors.New("onchain: SignerFromClef: empty endpoint")
	}
	w, err := external.NewExternalSigner(endpoint)
	if err != nil {
		return nil, fmt.Errorf("onchain: external signer %s: %w", endpointName(endpoint), redactURLs(err))
	}
	return SignerFromWallet(w, account, chainID)
}

// endpointName shows an RPC endpoint in a message: a URL without credentials,
// path or query (see redactURL), an IPC path as it is.
func endpointName(endpoint string) string {
	if strings.Contains(endpoint, "://") {
		return redactURL(endpoint)
	}
	return fmt.Sprintf("%q", endpoint)
}

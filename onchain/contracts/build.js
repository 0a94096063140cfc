// Compiles the test contracts with solc-js through standard JSON, so the EVM
// version can be pinned (the solcjs command line cannot). Writes
// build/<Name>.abi.json and build/<Name>.bin (creation bytecode, hex, no 0x).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const sources = ['DstackApp.sol', 'DstackKms.sol'];
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(
    sources.map((f) => [f, { content: fs.readFileSync(path.join(__dirname, f), 'utf8') }]),
  ),
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    // No metadata hash: the bytecode depends only on the source and settings.
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

const outDir = path.join(__dirname, 'build');
fs.mkdirSync(outDir, { recursive: true });
for (const file of sources) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    fs.writeFileSync(path.join(outDir, `${name}.abi.json`), JSON.stringify(c.abi, null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, `${name}.bin`), c.evm.bytecode.object + '\n');
    console.log(`${name}: ${c.evm.bytecode.object.length / 2} bytes (solc ${solc.version()})`);
  }
}

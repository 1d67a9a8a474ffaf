// The independent verifier: Digital Bazaar's VC libraries check credentials our app issued, offline.
// Input (a JSON file named on the command line): {"documents": {url: document}, "credentials": [credential]}
// — `documents` holds every document the loader may serve (the pinned contexts, the DID document, the status
// lists); any other URL is refused. Output (stdout, JSON): one result per credential:
// {"verified": bool, "error": string|null, "revoked": bool|null}.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const documents = input.documents;

// A DID URL with a fragment is the verification method of that id in its DID document (with its contexts).
async function documentLoader(url) {
  const [base, fragment] = url.split('#');
  const document = documents[base];
  if(document === undefined) {
    throw new Error(`offline loader: no document for ${url}`);
  }
  if(fragment !== undefined && base.startsWith('did:')) {
    const method = (document.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`offline loader: ${url} is not in its DID document`);
    }
    return {contextUrl: null, documentUrl: url, document: {'@context': document['@context'], ...method}};
  }
  return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
}

const suite = new DataIntegrityProof({cryptosuite});
const results = [];
for(const credential of input.credentials) {
  try {
    const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
    const error = result.error ? String(result.error.errors?.[0]?.message || result.error.message || result.error) : null;
    const statuses = result.statusResult?.results || [];
    results.push({
      verified: result.verified,
      error,
      revoked: statuses.length ? statuses.some(s => s.status === true) : null,
    });
  } catch(e) {
    results.push({verified: false, error: String(e.message || e), revoked: null});
  }
}
process.stdout.write(JSON.stringify(results));

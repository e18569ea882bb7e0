#!/usr/bin/python3
"""Independent material for cheesechain's cheese-network unit tests
(test_rsa.c, test_consensus_cheese.c), made with PyCryptodome and the
reference implementation's own way of hashing (json.dumps with sort_keys,
str() of a list of OrderedDicts, PKCS1_v1_5 over SHA256). Run with Debian's
python3 and python3-pycryptodome, on Python < 3.12 (3.12 changed the repr of
OrderedDict, and with it the proof-of-work text). The 2048-bit key is random,
so each run writes new values for it; everything else is fixed. The blocks
continue the chain of cheese-network.json (blocks 3 and 4) and are valid
under the ledger rules too (every payment affordable, none repeated)."""
import json
import os
import random
from collections import OrderedDict
from hashlib import sha256

from Cryptodome.Hash import SHA256
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import PKCS1_v1_5
from Cryptodome.Util.number import inverse

HERE = os.path.dirname(os.path.abspath(__file__))
v = json.load(open(os.path.join(HERE, 'cheese-network.json')))
keys = [RSA.import_key(bytes.fromhex(k['private_key_der_hex'])) for k in v['keys']]
pubs = [k['public_key_der_hex'] for k in v['keys']]

# ---- DER, written out by hand for the malformed keys ----------------------
def L(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b
def tlv(t, c): return bytes([t]) + L(len(c)) + c
def I(x): return tlv(2, x.to_bytes(max(1, (x.bit_length() + 8) // 8), 'big'))
ALG = bytes.fromhex('300d06092a864886f70d0101010500')
def spki(n, e, alg=ALG): return tlv(0x30, alg + tlv(3, b'\0' + tlv(0x30, I(n) + I(e))))
def priv_der(n, e, d, p, q, a, b, c, ver=0):
    return tlv(0x30, I(ver) + I(n) + I(e) + I(d) + I(p) + I(q) + I(a) + I(b) + I(c))
def odd(bits):
    random.seed(bits)
    return random.getrandbits(bits) | (1 << (bits - 1)) | 1

k0 = keys[0]
n, e, d, p, q = k0.n, k0.e, k0.d, k0.p, k0.q
assert spki(n, e).hex() == pubs[0]
assert priv_der(n, e, d, p, q, d % (p - 1), d % (q - 1), inverse(q, p)).hex() == v['keys'][0]['private_key_der_hex']
rsa = {}
rsa['pub_512'] = spki(odd(512), 65537).hex()
rsa['pub_1023'] = spki(odd(1023), 65537).hex()
rsa['pub_4096'] = spki(odd(4096), 65537).hex()
rsa['pub_4097'] = spki(odd(4097), 65537).hex()
rsa['pub_2049'] = spki(odd(2049), 65537).hex()
rsa['pub_e32'] = spki(n, (1 << 32) - 1).hex()
rsa['pub_e33'] = spki(n, (1 << 32) + 1).hex()
rsa['pub_e3'] = spki(n, 3).hex()
rsa['pub_e4'] = spki(n, 4).hex()
rsa['pub_e1'] = spki(n, 1).hex()
rsa['pub_e64'] = spki(n, (1 << 64) - 1).hex()
rsa['pub_e65'] = spki(n, (1 << 64) + 1).hex()
rsa['pub_even_n'] = spki(n + 1, 65537).hex()
rsa['pub_no_null'] = spki(n, e, bytes.fromhex('300b06092a864886f70d010101')).hex()
rsa['pub_wrong_oid'] = spki(n, e, bytes.fromhex('300d06092a864886f70d01010b0500')).hex()
rsapub = tlv(0x30, I(n) + bytes.fromhex('028103010001'))          # long-form length
rsa['pub_ber_len'] = tlv(0x30, ALG + tlv(3, b'\0' + rsapub)).hex()
rsapub = tlv(0x30, I(n) + bytes.fromhex('020400010001'))          # leading zero
rsa['pub_ber_zero'] = tlv(0x30, ALG + tlv(3, b'\0' + rsapub)).hex()
rsa['pub_rsapublickey_only'] = tlv(0x30, I(n) + I(e)).hex()
rsa['pub_unused_bits'] = tlv(0x30, ALG + tlv(3, b'\x01' + tlv(0x30, I(n) + I(e)))).hex()
k2 = RSA.generate(2048)
rsa['priv_2048'] = k2.export_key(format='DER').hex()
rsa['pub_2048'] = k2.publickey().export_key(format='DER').hex()
rsa['sig_2048'] = PKCS1_v1_5.new(k2).sign(SHA256.new(b'hello cheese')).hex()
rsa['pkcs8_0'] = k0.export_key(format='DER', pkcs=8).hex()
rsa['priv_swapped_pq'] = priv_der(n, e, d, q, p, d % (p - 1), d % (q - 1), inverse(q, p)).hex()
rsa['priv_bad_c'] = priv_der(n, e, d, p, q, d % (p - 1), d % (q - 1), inverse(q, p) + 1).hex()
rsa['priv_bad_n'] = priv_der(n + 2, e, d, p, q, d % (p - 1), d % (q - 1), inverse(q, p)).hex()
rsa['priv_version1'] = priv_der(n, e, d, p, q, d % (p - 1), d % (q - 1), inverse(q, p), 1).hex()
signer = PKCS1_v1_5.new(k0)
for i in range(100000):  # a signature whose first byte is 0
    m = b'zero %d' % i
    sig = signer.sign(SHA256.new(m))
    if sig[0] == 0:
        break
rsa['zero_msg'] = m.decode()
rsa['zero_sig'] = sig.hex()

# ---- blocks, hashed and mined the reference's way --------------------------
def od(t): return OrderedDict([('sender', t['sender']), ('recipient', t['recipient']), ('amount', t['amount'])])
def smell_pre(b):
    hb = dict(b)
    hb['transactions'] = [od(t) for t in b['transactions']]
    return json.dumps(hb, sort_keys=True)
def pow_pre(txs, last, proof): return str([od(t) for t in txs]) + str(last) + str(proof)
def sign(i, recipient, amount):
    payload = pubs[i] + recipient + str(amount)
    return PKCS1_v1_5.new(keys[i]).sign(SHA256.new(payload.encode('utf8'))).hex()
def tx(i, j, amount):
    return OrderedDict([('sender', pubs[i]), ('recipient', pubs[j]), ('amount', amount),
                        ('signature', sign(i, pubs[j], amount))])
def reward(j, amount=10):
    return OrderedDict([('sender', 'CHEESECHAIN REWARD SYSTEM'), ('recipient', pubs[j]),
                        ('amount', amount), ('signature', 'rewardtransactionsignature')])
def mine(seq, parent, txs, ts):
    proof = 0
    while sha256(pow_pre(txs[:-1], parent, proof).encode()).hexdigest()[:2] != '00':
        proof += 1
    b = OrderedDict([('sequence_number', seq), ('parent_smell', parent), ('transactions', txs),
                     ('nonce', proof), ('timestamp', ts)])
    return {'json': json.dumps(b), 'smell': sha256(smell_pre(b).encode()).hexdigest(),
            'smell_preimage': smell_pre(b), 'pow_preimage': pow_pre(txs[:-1], parent, proof)}

b3 = mine(3, v['blocks'][1]['smell'],
          [tx(1, 0, 2), tx(0, 1, 0.30000000000000004), tx(1, 0, 1e-05), tx(0, 1, 5e-324), reward(0)],
          1645524339.5)
b4 = mine(4, b3['smell'], [tx(0, 1, 1.0), reward(1, 10.0)], 1700000000)
strings = ["", "a", "it's", 'say "hi"', 'both \' and "', "back\\slash", "\\'", "'\"\\",
           " ~!@#$%^&*()_+{}|:<>?`-=[];,./"]
out = {
    'about': __doc__.strip(),
    'blocks': [b3, b4],
    'py_repr': [[s, repr(s)] for s in strings],
    'json_str': [[s, json.dumps(s)] for s in strings],
    'rsa': rsa,
}
with open(os.path.join(HERE, 'cheese-extra.json'), 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
